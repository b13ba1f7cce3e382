using Vigie.Web.Infrastructure.Telemetry;

namespace Vigie.Web.Infrastructure.Database;

/// <summary>What the app last learned about PostgreSQL: whether the schema is migrated and whether the last probe answered.</summary>
public sealed class DatabaseStatus(VigieMetrics metrics, TimeProvider clock)
{
    private readonly TaskCompletionSource _migratedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _reachable;
    private DateTimeOffset _checkedAt;

    /// <summary>True once the migrations have run in this process.</summary>
    public bool Migrated => _migratedSignal.Task.IsCompleted;

    /// <summary>True when the last probe reached the database.</summary>
    public bool Reachable => _reachable;

    public DateTimeOffset CheckedAt => _checkedAt;

    public bool Ready => Migrated && _reachable;

    /// <summary>
    /// Completes when the migrations have run: what waits on them starts at that moment, not at its next look (the
    /// model registry sync, on the path to readiness at every start; the alert inbox and the retention loop).
    /// </summary>
    public Task WhenMigrated => _migratedSignal.Task;

    public void MarkMigrated() => _migratedSignal.TrySetResult();

    /// <summary>
    /// Throws <see cref="DatabaseUnavailableException"/> for <paramref name="operation"/> when the database is known to
    /// be unusable (schema not migrated yet, or the last probe failed): a request answers 503 at once instead of waiting
    /// for a connection attempt to time out. The probe notices a recovery within its interval.
    /// </summary>
    public void ThrowIfUnavailable(string operation)
    {
        if (!Migrated)
        {
            throw new DatabaseUnavailableException(operation, new InvalidOperationException("The database schema is not migrated yet."));
        }
        if (!_reachable)
        {
            throw new DatabaseUnavailableException(operation, new InvalidOperationException("The last database probe failed (the probe logged why)."));
        }
    }

    /// <summary>
    /// Records a probe's outcome. Why it failed is logged by the probe, never kept here: what this class holds is shown
    /// to anonymous visitors (status strip, readiness), and a driver's message names hosts, ports and users.
    /// </summary>
    public void Record(bool reachable)
    {
        _reachable = reachable;
        _checkedAt = clock.GetUtcNow();
        metrics.SetDbUp(reachable);
    }
}

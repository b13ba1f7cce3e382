using Vigie.Metrics;

namespace Vigie.Web.Infrastructure.Database;

/// <summary>What the app last learned about PostgreSQL: whether the schema is migrated and whether the last probe answered.</summary>
public sealed class DatabaseStatus(VigieMetrics metrics, TimeProvider clock)
{
    private volatile bool _migrated;
    private volatile bool _reachable;
    private volatile string? _lastError;
    private DateTimeOffset _checkedAt;

    /// <summary>True once the migrations have run in this process.</summary>
    public bool Migrated => _migrated;

    /// <summary>True when the last probe reached the database.</summary>
    public bool Reachable => _reachable;

    /// <summary>The last probe's error, for the status strip and readiness.</summary>
    public string? LastError => _lastError;

    public DateTimeOffset CheckedAt => _checkedAt;

    public bool Ready => _migrated && _reachable;

    public void MarkMigrated() => _migrated = true;

    /// <summary>
    /// Throws <see cref="DatabaseUnavailableException"/> for <paramref name="operation"/> when the database is known to
    /// be unusable (schema not migrated yet, or the last probe failed): a request answers 503 at once instead of waiting
    /// for a connection attempt to time out. The probe notices a recovery within its interval.
    /// </summary>
    public void ThrowIfUnavailable(string operation)
    {
        if (!_migrated)
        {
            throw new DatabaseUnavailableException(operation, new InvalidOperationException("The database schema is not migrated yet."));
        }
        if (!_reachable)
        {
            throw new DatabaseUnavailableException(operation, new InvalidOperationException($"The last probe failed: {_lastError ?? "no answer"}"));
        }
    }

    public void Record(bool reachable, string? error)
    {
        _reachable = reachable;
        _lastError = error;
        _checkedAt = clock.GetUtcNow();
        metrics.SetDbUp(reachable);
    }
}

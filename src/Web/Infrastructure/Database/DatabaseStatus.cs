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

    public void Record(bool reachable, string? error)
    {
        _reachable = reachable;
        _lastError = error;
        _checkedAt = clock.GetUtcNow();
        metrics.SetDbUp(reachable);
    }
}

using Vigie.Metrics;

namespace Vigie.Web.Infrastructure.Database;

/// <summary>What the app last learned about PostgreSQL: whether the schema is migrated and whether the last probe answered.</summary>
public sealed class DatabaseStatus(VigieMetrics metrics, TimeProvider clock)
{
    private volatile bool _migrated;
    private volatile bool _reachable;
    private DateTimeOffset _checkedAt;

    /// <summary>True once the migrations have run in this process.</summary>
    public bool Migrated => _migrated;

    /// <summary>True when the last probe reached the database.</summary>
    public bool Reachable => _reachable;

    public DateTimeOffset CheckedAt => _checkedAt;

    public bool Ready => _migrated && _reachable;

    public void MarkMigrated() => _migrated = true;

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

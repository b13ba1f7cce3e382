using System.ComponentModel.DataAnnotations;

namespace Vigie.Web.Infrastructure.Database;

/// <summary>Database timeouts and probing (<c>Database:*</c>).</summary>
public sealed class DatabaseOptions
{
    /// <summary>Seconds to wait for a connection; kept short so an unreachable database answers 503 quickly instead of hanging requests.</summary>
    [Range(1, 1024)]
    public int ConnectTimeoutSeconds { get; set; } = 3;

    /// <summary>Seconds a statement may run.</summary>
    [Range(1, 3600)]
    public int CommandTimeoutSeconds { get; set; } = 10;

    /// <summary>Seconds between health probes (<c>vigie_db_up</c>, the status strip, readiness).</summary>
    [Range(0.1, 3600)]
    public double ProbeIntervalSeconds { get; set; } = 2;

    /// <summary>
    /// Predictions (form and API) that may wait for the group insert at once. It bounds the memory and the wait of a
    /// burst, and of the requests that queue while the database slows down: a prediction beyond it is refused with 503
    /// at once (Retry-After) instead of queueing without end. 1024 is sixteen full groups, several seconds of the
    /// benchmark's peak rate.
    /// </summary>
    public int PredictionQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// Group inserts of single predictions in flight at once (default 1). With one, the predictions that arrive while a
    /// statement runs and commits all wait for the next: the groups grow with the load and PostgreSQL's per-statement
    /// and per-commit work (executor start-up, the batch trigger, the WAL flush) is paid once per group. On the
    /// benchmark's two cores, two writers halved the groups (9.5 rows instead of 14.3) and cost PostgreSQL 34 µs of CPU
    /// per prediction against 22 µs with one, for no more throughput. More help only when PostgreSQL has cores to
    /// spare for statements side by side.
    /// </summary>
    [Range(1, 8)]
    public int PredictionWriters { get; set; } = 1;
}

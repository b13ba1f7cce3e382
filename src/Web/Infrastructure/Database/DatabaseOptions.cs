namespace Vigie.Web.Infrastructure.Database;

/// <summary>Database timeouts and probing (<c>Database:*</c>).</summary>
public sealed class DatabaseOptions
{
    /// <summary>Seconds to wait for a connection; kept short so an unreachable database answers 503 quickly instead of hanging requests.</summary>
    public int ConnectTimeoutSeconds { get; set; } = 3;

    /// <summary>Seconds a statement may run.</summary>
    public int CommandTimeoutSeconds { get; set; } = 10;

    /// <summary>Seconds between health probes (<c>vigie_db_up</c>, the status strip, readiness).</summary>
    public double ProbeIntervalSeconds { get; set; } = 2;
}

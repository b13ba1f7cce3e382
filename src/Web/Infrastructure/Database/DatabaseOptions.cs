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
}

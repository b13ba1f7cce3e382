using Dapper;
using Vigie.Web.Infrastructure.Hosting;

namespace Vigie.Web.Infrastructure.Database;

/// <summary>
/// Pings PostgreSQL every few seconds so <c>vigie_db_up</c>, readiness, the status strip and the fail-fast paths
/// (prediction writes, the alert inbox) follow outages and recoveries. Any failure marks the database unreachable:
/// an outage is expected, anything else (a refused password or database, a server error) is also counted as a
/// failure of the probe loop — and neither stops it.
/// </summary>
internal sealed class DatabaseProbe(VigieDatabase database, DatabaseStatus status, DatabaseOptions options, BackgroundLoops loops, ILogger<DatabaseProbe> logger) : BackgroundService
{
    private const string Loop = "database_probe";

    // The probe's own memory of the last refusal it logged in full, so a repeated one is only counted. Kept here, not in
    // DatabaseStatus, whose state is shown to anonymous visitors.
    private string? _lastRefusal;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.ProbeIntervalSeconds));
        try
        {
            do
            {
                await ProbeOnceAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ProbeOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await database.RunAsync("ping", c => c.ExecuteScalarAsync<int>("SELECT 1"), cancellationToken);
            if (!status.Reachable)
            {
                logger.LogInformation("Database reachable");
            }
            _lastRefusal = null;
            status.Record(true);
        }
        catch (DatabaseUnavailableException ex)
        {
            if (status.Reachable || status.CheckedAt == default)
            {
                logger.LogError("Database unreachable: {Reason}", ex.InnerException?.Message);
            }
            status.Record(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Not an outage but the database refusing the app (authentication, permissions, a missing database): for
            // every request it is as unreachable as when it is down. Counted each time; the probe keeps its rhythm.
            if (status.Reachable || _lastRefusal != ex.Message)
            {
                loops.Failed(Loop, ex, logger);
            }
            else
            {
                loops.FailedAgain(Loop);
            }
            _lastRefusal = ex.Message;
            status.Record(false);
        }
    }
}

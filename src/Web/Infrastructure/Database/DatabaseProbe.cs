using Dapper;

namespace Vigie.Web.Infrastructure.Database;

/// <summary>Pings PostgreSQL every few seconds so <c>vigie_db_up</c>, readiness and the status strip follow outages and recoveries.</summary>
internal sealed class DatabaseProbe(VigieDatabase database, DatabaseStatus status, DatabaseOptions options, ILogger<DatabaseProbe> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.ProbeIntervalSeconds));
        do
        {
            await ProbeOnceAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
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
    }
}

using DbUp;
using DbUp.Engine.Output;
using Npgsql;
using Vigie.Web.Infrastructure.Hosting;

namespace Vigie.Web.Infrastructure.Database;

/// <summary>
/// Applies the numbered scripts of <c>db/</c> (embedded in the assembly) with DbUp at start-up, retrying with
/// exponential back-off until PostgreSQL answers. An advisory lock makes two instances starting at once run the
/// migrations one after the other: the second finds nothing left to do.
/// </summary>
internal sealed class DatabaseMigrator(NpgsqlDataSource dataSource, DatabaseStatus status, BackgroundLoops loops, ILogger<DatabaseMigrator> logger) : BackgroundService
{
    // Arbitrary but fixed: identifies "Vigie schema migration" among advisory locks.
    internal const long MigrationLockKey = 0x5649474945;
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await MigrateAsync(stoppingToken);
                status.MarkMigrated();
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                if (VigieDatabase.IsUnavailable(ex))
                {
                    // Not there yet (refused, starting up): the expected case at start-up.
                    logger.LogWarning("Migration attempt {Attempt} failed ({Reason}); retrying in {DelaySeconds:F1} s", attempt, ex.Message, delay.TotalSeconds);
                }
                else
                {
                    // A refused password, a failing script: the app stays up (live, answering 503) and keeps trying.
                    loops.Failed("database_migrator", ex, logger);
                }
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection))
        {
            lockCommand.Parameters.AddWithValue("key", MigrationLockKey);
            lockCommand.CommandTimeout = 0;
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            var result = DeployChanges.To
                // The data source itself, not its ConnectionString: Npgsql strips the password from that string, and a
                // PostgreSQL that requires one (every real deployment) would refuse each attempt forever.
                .PostgresqlDatabase(new DbUp.Postgresql.PostgresqlConnectionManager(dataSource))
                .WithScriptsEmbeddedInAssembly(typeof(DatabaseMigrator).Assembly, name => name.Contains(".Migrations.", StringComparison.Ordinal))
                .WithTransactionPerScript()
                .LogTo(new DbUpLog(logger))
                .Build()
                .PerformUpgrade();
            if (!result.Successful)
            {
                throw new InvalidOperationException($"Migration script {result.ErrorScript?.Name} failed: {result.Error.Message}", result.Error);
            }
            logger.LogInformation("Database schema up to date ({Scripts} scripts applied now)", result.Scripts.Count());
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
            unlock.Parameters.AddWithValue("key", MigrationLockKey);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    // DbUp formats its own messages with string.Format; they reach the log already formatted.
    private sealed class DbUpLog(ILogger logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => logger.LogDebug("{DbUp}", Format(format, args));
        public void LogDebug(string format, params object[] args) => logger.LogDebug("{DbUp}", Format(format, args));
        public void LogInformation(string format, params object[] args) => logger.LogInformation("{DbUp}", Format(format, args));
        public void LogWarning(string format, params object[] args) => logger.LogWarning("{DbUp}", Format(format, args));
        public void LogError(string format, params object[] args) => logger.LogError("{DbUp}", Format(format, args));
        public void LogError(Exception ex, string format, params object[] args) => logger.LogError(ex, "{DbUp}", Format(format, args));

        private static string Format(string format, object[] args) =>
            args.Length == 0 ? format : string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args);
    }
}

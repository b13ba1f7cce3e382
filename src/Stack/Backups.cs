using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Vigie.Stack;

/// <summary>One backup file: where it is, its size, when it finished and how long it took.</summary>
public sealed record BackupFile(string Path, long Bytes, DateTimeOffset FinishedAt, TimeSpan Took);

/// <summary>
/// Backups of the app's database as compressed logical dumps (<c>pg_dump -Fc</c>), the native counterpart of the
/// Compose <c>backup</c> service (db/backup/vigie-backup.sh): files <c>vigie-YYYYMMDDTHHMMSSZ.dump</c>, the newest
/// <c>keep</c> kept, and a metrics file beside them for node-exporter's textfile collector (when the last one
/// succeeded, its size and the schedule), on which the <c>VigieBackupTooOld</c> alert and the Database dashboard read.
/// A restore recreates the database from a dump, all or nothing.
/// </summary>
public static class Backups
{
    /// <summary>The file node-exporter's textfile collector reads, in the <c>metrics</c> folder of the backup directory.</summary>
    public const string MetricsFile = "vigie_backup.prom";

    /// <summary>Dumps the app's database of <paramref name="cluster"/> into <paramref name="directory"/> and keeps the newest <paramref name="keep"/> dumps.</summary>
    public static async Task<BackupFile> TakeAsync(PostgresCluster cluster, string directory, int keep, TimeSpan schedule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        Directory.CreateDirectory(directory);
        var started = Stopwatch.GetTimestamp();
        var name = $"vigie-{DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}.dump";
        var final = Path.Combine(directory, name);
        // Written under another name and renamed once complete: a dump cut short is never taken for a backup.
        var partial = final + ".partial";
        await cluster.RunClientAsync("pg_dump", ["--format=custom", $"--file={partial}", $"--dbname={PostgresCluster.AppDatabase}"], cancellationToken);
        File.Move(partial, final, overwrite: true);
        foreach (var old in List(directory).Skip(keep))
        {
            File.Delete(old);
        }
        var backup = new BackupFile(final, new FileInfo(final).Length, DateTimeOffset.UtcNow, Stopwatch.GetElapsedTime(started));
        WriteMetrics(directory, backup, schedule);
        return backup;
    }

    /// <summary>The dumps of <paramref name="directory"/>, newest first.</summary>
    public static IReadOnlyList<string> List(string directory) =>
        Directory.Exists(directory)
            ? Directory.GetFiles(directory, "vigie-*.dump").OrderByDescending(Path.GetFileName, StringComparer.Ordinal).ToList()
            : [];

    /// <summary>
    /// Replaces the app's database of <paramref name="cluster"/> with the content of <paramref name="dump"/>: the
    /// database is dropped (its connections closed) and created again, then the dump is restored in one transaction,
    /// its objects owned by the app's role. Roles are not in a dump: the app's and the monitor's are the cluster's own.
    /// </summary>
    public static async Task<TimeSpan> RestoreAsync(PostgresCluster cluster, string dump, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (!File.Exists(dump))
        {
            throw new FileNotFoundException($"No backup at {dump}.", dump);
        }
        var started = Stopwatch.GetTimestamp();
        var admin = new NpgsqlConnectionStringBuilder(cluster.AdminConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync(cancellationToken);
            foreach (var sql in new[]
                     {
                         $"DROP DATABASE IF EXISTS {PostgresCluster.AppDatabase} WITH (FORCE)",
                         $"CREATE DATABASE {PostgresCluster.AppDatabase} OWNER {PostgresCluster.AppUser}",
                     })
            {
                await using var command = new NpgsqlCommand(sql, connection);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        NpgsqlConnection.ClearAllPools();
        await cluster.RunClientAsync("pg_restore",
            ["--exit-on-error", "--single-transaction", "--no-owner", $"--role={PostgresCluster.AppUser}", $"--dbname={PostgresCluster.AppDatabase}", dump], cancellationToken);
        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Writes the metrics of <paramref name="backup"/> for node-exporter's textfile collector, atomically (rename).</summary>
    public static void WriteMetrics(string directory, BackupFile backup, TimeSpan schedule)
    {
        ArgumentNullException.ThrowIfNull(backup);
        var metrics = Path.Combine(directory, "metrics");
        Directory.CreateDirectory(metrics);
        var text = string.Create(CultureInfo.InvariantCulture, $"""
            # HELP vigie_backup_last_success_timestamp_seconds When the newest successful backup of the database finished (Unix time).
            # TYPE vigie_backup_last_success_timestamp_seconds gauge
            vigie_backup_last_success_timestamp_seconds {backup.FinishedAt.ToUnixTimeMilliseconds() / 1000.0:F3}
            # HELP vigie_backup_last_size_bytes Size of the newest successful backup (pg_dump -Fc, compressed).
            # TYPE vigie_backup_last_size_bytes gauge
            vigie_backup_last_size_bytes {backup.Bytes}
            # HELP vigie_backup_last_duration_seconds How long the newest successful backup took.
            # TYPE vigie_backup_last_duration_seconds gauge
            vigie_backup_last_duration_seconds {backup.Took.TotalSeconds:F3}
            # HELP vigie_backup_interval_seconds Seconds between two scheduled backups: a backup older than 1.5 times this is late.
            # TYPE vigie_backup_interval_seconds gauge
            vigie_backup_interval_seconds {schedule.TotalSeconds:F0}

            """);
        var partial = Path.Combine(metrics, MetricsFile + ".partial");
        File.WriteAllText(partial, text);
        File.Move(partial, Path.Combine(metrics, MetricsFile), overwrite: true);
    }
}

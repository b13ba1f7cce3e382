using System.Globalization;
using System.Text;
using Npgsql;

namespace Vigie.Stack.Bench;

/// <summary>PostgreSQL's cumulative WAL and commit counters of the app's database at one moment.</summary>
public sealed record PostgresCounters(long WalRecords, long WalFullPageImages, decimal WalBytes, long Commits, long NewestPredictionId);

/// <summary>One statement as pg_stat_statements saw it over a measured stretch (execution time is wall time in the backend).</summary>
public sealed record StatementCost(string Query, long Calls, long Rows, double TotalMilliseconds);

/// <summary>
/// What PostgreSQL itself did for the rows of one measured stretch: WAL (bytes, records, full-page images) and commits
/// per row, and, when its statements were reset at the start, the statements that ran.
/// </summary>
public sealed record PostgresStretch(string Name, string RowName, PostgresCounters Before, PostgresCounters After, long Rows, double CpuUsPerRow, IReadOnlyList<StatementCost> Statements)
{
    public double WalBytesPerRow => (double)(After.WalBytes - Before.WalBytes) / Math.Max(1, Rows);
    public double WalRecordsPerRow => (After.WalRecords - Before.WalRecords) / (double)Math.Max(1, Rows);
    public double FullPageImagesPerRow => (After.WalFullPageImages - Before.WalFullPageImages) / (double)Math.Max(1, Rows);
    public double CommitsPerRow => (After.Commits - Before.Commits) / (double)Math.Max(1, Rows);
}

/// <summary>
/// PostgreSQL's own view of the benchmark: <c>pg_stat_statements</c> (preloaded in the benchmark's cluster only, through
/// <see cref="ServerSettings"/>), <c>pg_stat_wal</c> and <c>pg_stat_database</c>. Cumulative statistics reach the shared
/// views when a backend flushes them: at most once a second while busy, within 10 s once idle, at once when it exits;
/// a stretch's end is therefore read after <see cref="FlushDelay"/>.
/// </summary>
public static class PostgresStatistics
{
    /// <summary>The settings the benchmark's cluster starts with (nothing about durability).</summary>
    public static IReadOnlyDictionary<string, string> ServerSettings { get; } = new Dictionary<string, string>
    {
        ["shared_preload_libraries"] = "pg_stat_statements",
    };

    /// <summary>Longer than PostgreSQL's idle flush interval of pending statistics (PGSTAT_IDLE_INTERVAL, 10 s).</summary>
    public static readonly TimeSpan FlushDelay = TimeSpan.FromSeconds(11);

    /// <summary>Creates the extension in the app's database (its views exist once it is preloaded and created).</summary>
    public static Task EnableAsync(string adminConnectionString, CancellationToken cancellationToken) =>
        ExecuteAsync(adminConnectionString, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", cancellationToken);

    /// <summary>Forgets every statement seen so far and returns the counters now: the start of a stretch.</summary>
    public static async Task<PostgresCounters> StartAsync(string adminConnectionString, CancellationToken cancellationToken)
    {
        await ExecuteAsync(adminConnectionString, "SELECT pg_stat_statements_reset()", cancellationToken);
        return await CountersAsync(adminConnectionString, cancellationToken);
    }

    /// <summary>
    /// The end of a stretch begun with <paramref name="before"/>: waits until the backends have flushed their statistics
    /// (<see cref="FlushDelay"/>, or <paramref name="settle"/> when they exited, which flushes), then reads the counters and
    /// the statements of the app's database, costliest first. The stretch's rows are the predictions stored meanwhile
    /// (the range of ids between the two readings).
    /// </summary>
    public static async Task<PostgresStretch> FinishAsync(string name, string rowName, string adminConnectionString, PostgresCounters before, double cpuUsPerRow,
        CancellationToken cancellationToken, TimeSpan? settle = null)
    {
        ArgumentNullException.ThrowIfNull(before);
        await Task.Delay(settle ?? FlushDelay, cancellationToken);
        var after = await CountersAsync(adminConnectionString, cancellationToken);
        var statements = new List<StatementCost>();
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT query, calls, rows, total_exec_time FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%'
            ORDER BY total_exec_time DESC LIMIT 8
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            statements.Add(new StatementCost(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetDouble(3)));
        }
        return new PostgresStretch(name, rowName, before, after, after.NewestPredictionId - before.NewestPredictionId, cpuUsPerRow, statements);
    }

    /// <summary>WAL and commit counters of the app's database now, with the newest prediction's id (where a stretch's rows start).</summary>
    public static async Task<PostgresCounters> CountersAsync(string adminConnectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT w.wal_records, w.wal_fpi, w.wal_bytes, d.xact_commit, (SELECT coalesce(max(id), 0) FROM predictions)
            FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new PostgresCounters(reader.GetInt64(0), reader.GetInt64(1), reader.GetDecimal(2), reader.GetInt64(3), reader.GetInt64(4));
    }

    /// <summary>The WAL table (one row per stretch) and, for each stretch with statements, its statements.</summary>
    public static string Report(IReadOnlyList<PostgresStretch> stretches)
    {
        ArgumentNullException.ThrowIfNull(stretches);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| stretch | rows | WAL bytes / row | WAL records / row | full-page images / row | commits / row | PostgreSQL CPU / row |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var s in stretches)
        {
            sb.AppendLine(string.Create(inv, $"| {s.Name} | {s.Rows:N0} {s.RowName} | {s.WalBytesPerRow:F0} | {s.WalRecordsPerRow:F2} | {s.FullPageImagesPerRow:F3} | {s.CommitsPerRow:F3} | {s.CpuUsPerRow:F1} µs |"));
        }
        foreach (var s in stretches.Where(s => s.Statements.Count > 0))
        {
            sb.AppendLine();
            sb.AppendLine(string.Create(inv, $"Statements of {s.Name} (pg_stat_statements, reset at its start; execution time is the backend's wall time, commits excluded):"));
            sb.AppendLine();
            sb.AppendLine(string.Create(inv, $"| statement | calls | rows | total | µs / call | µs / row | µs / {s.RowName.TrimEnd('s')} |"));
            sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var statement in s.Statements)
            {
                var us = statement.TotalMilliseconds * 1000;
                sb.AppendLine(string.Create(inv,
                    $"| `{Abbreviate(statement.Query)}` | {statement.Calls:N0} | {statement.Rows:N0} | {statement.TotalMilliseconds:N0} ms | {us / Math.Max(1, statement.Calls):F1} | {us / Math.Max(1, statement.Rows):F2} | {us / Math.Max(1, s.Rows):F2} |"));
            }
        }
        return sb.ToString();
    }

    // One line, at most 90 characters, no pipe (it would split the Markdown cell).
    private static string Abbreviate(string query)
    {
        var line = string.Join(' ', query.Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries)).Replace('|', '¦');
        return line.Length <= 90 ? line : line[..87] + "…";
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Vigie.Stack.Bench;

/// <summary>One pgbench run: committed transactions, their latency, the CPU they cost and PostgreSQL's WAL per row.</summary>
public sealed record PgBenchResult(string Name, int RowsPerCommit, double TransactionsPerSecond, double Seconds, double P50Ms, double P99Ms, double PgCpuUsPerRow,
    double PgShare, double PgBenchShare, PostgresStretch Postgres)
{
    public double RowsPerSecond => TransactionsPerSecond * RowsPerCommit;
}

/// <summary>
/// PostgreSQL's own insert rate on the benchmark's durable cluster, without the app: pgbench (32 clients, 2 threads, as
/// wrk loads the app) inserting rows shaped like the app's into <c>predictions</c> (same columns, channel <c>api</c>, the
/// active model version), prepared statements as the app's auto-prepared ones, and each transaction committed — the
/// ceiling of <c>POST /api/predictions</c> with one commit per prediction, and with the app's group statement (the
/// multi-row <c>INSERT … SELECT * FROM unnest(…)</c> of PredictionWriter). The rows pgbench inserted are deleted
/// afterwards (by id range), so the stored-versus-acknowledged check of the benchmark still holds.
/// </summary>
public static partial class PgBench
{
    /// <summary>Rows per statement of the grouped run: about what PredictionWriter groups under the benchmark's load.</summary>
    public const int GroupRows = 16;

    // The columns of PredictionStore.InsertColumns (its insert and PredictionWriter's), in that order.
    private const string Columns = "bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence, probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version, ood_score, ood_features";

    /// <summary>One row per commit: the app's insert of one prediction, measurements drawn per transaction.</summary>
    private const string SingleRowScript = $"""
        \set bl random(340, 560)
        \set bd random(135, 205)
        \set fl random(175, 230)
        \set bm random(28, 63)
        \set s random(1, 3)
        INSERT INTO predictions ({Columns}) VALUES (:bl / 10.0, :bd / 10.0, :fl, :bm * 100, (ARRAY['Adelie', 'Chinstrap', 'Gentoo'])[:s], 0.91, 0.91, 0.05, 0.04, 'api', :version, 0, NULL) RETURNING id, created_at;

        """;

    /// <summary>PredictionWriter's statement: one array per column, <see cref="GroupRows"/> rows per commit.</summary>
    private const string GroupScript = $"""
        INSERT INTO predictions ({Columns}) SELECT * FROM unnest(:bl::float8[], :bd::float8[], :fl::float8[], :bm::float8[], :species::text[], :confidence::float8[], :pa::float8[], :pc::float8[], :pg::float8[], :channel::text[], :versions::text[], :ood::float8[], :features::text[]) RETURNING id, created_at;

        """;

    /// <summary>Both runs, one after the other, each for <paramref name="duration"/>; their rows deleted afterwards.</summary>
    public static async Task<IReadOnlyList<PgBenchResult>> MeasureAsync(PostgresCluster database, int postmaster, int clients, int threads, TimeSpan duration,
        TextWriter console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(console);
        var version = await ActiveVersionAsync(database.AdminConnectionString, cancellationToken);
        var results = new List<PgBenchResult>();
        foreach (var (name, rows, script, variables) in new[]
        {
            ("pgbench: one INSERT per commit", 1, SingleRowScript, new Dictionary<string, string> { ["version"] = version }),
            ($"pgbench: PredictionWriter's INSERT … unnest of {GroupRows} rows per commit", GroupRows, GroupScript, GroupVariables(version)),
        })
        {
            results.Add(await RunAsync(database, postmaster, name, rows, script, variables, clients, threads, duration, console, cancellationToken));
        }
        return results;
    }

    private static async Task<PgBenchResult> RunAsync(PostgresCluster database, int postmaster, string name, int rowsPerCommit, string script, Dictionary<string, string> variables,
        int clients, int threads, TimeSpan duration, TextWriter console, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("vigie-pgbench-").FullName;
        try
        {
            var scriptFile = Path.Combine(directory, "insert.sql");
            await File.WriteAllTextAsync(scriptFile, script, cancellationToken);
            List<string> arguments =
            [
                "--no-vacuum", "--protocol=prepared", $"--client={clients}", $"--jobs={threads}",
                $"--time={((int)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture)}", $"--file={scriptFile}",
                "--log", $"--log-prefix={Path.Combine(directory, "latency")}",
            ];
            arguments.AddRange(variables.Select(v => $"--define={v.Key}={v.Value}"));
            arguments.Add(PostgresCluster.AppDatabase);

            var before = await PostgresStatistics.CountersAsync(database.AdminConnectionString, cancellationToken);
            var (_, total0) = ProcFs.MachineTicks();
            var (pg0, children0) = (ProcFs.TreeTicks(postmaster), ProcFs.WaitedChildrenTicks());
            var output = await database.RunClientAsync("pgbench", arguments, cancellationToken);
            var (_, total1) = ProcFs.MachineTicks();
            double pg = ProcFs.TreeTicks(postmaster) - pg0, pgbench = ProcFs.WaitedChildrenTicks() - children0, total = total1 - total0;

            // pgbench's rate leaves out the clients' connection set-up (scram-sha-256 authentication, a backend forked per client).
            var tps = double.Parse(TransactionRate().Match(output) is { Success: true } m ? m.Groups[1].Value
                : throw new InvalidOperationException($"pgbench printed no rate: {output}"), CultureInfo.InvariantCulture);
            var latencies = ReadLatencies(directory);
            var stretch = await PostgresStatistics.FinishAsync(name, "rows", database.AdminConnectionString, before, 0, cancellationToken, settle: TimeSpan.FromSeconds(1));
            var rows = await DeleteInsertedAsync(database.AdminConnectionString, before.NewestPredictionId, stretch.After.NewestPredictionId, cancellationToken);
            var cpuPerRow = pg * 1e6 / ProcFs.TicksPerSecond / Math.Max(1, rows);
            stretch = stretch with { Rows = rows, CpuUsPerRow = cpuPerRow, Statements = [] };
            var result = new PgBenchResult(name, rowsPerCommit, tps, duration.TotalSeconds, Benchmark.Percentile(latencies, 0.5), Benchmark.Percentile(latencies, 0.99), cpuPerRow,
                pg / total, pgbench / total, stretch);
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name}: {result.TransactionsPerSecond:N0} commits/s, {result.RowsPerSecond:N0} rows/s, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, PostgreSQL {cpuPerRow:F1} µs/row, {stretch.WalBytesPerRow:F0} WAL bytes/row ({rows:N0} rows deleted again)"));
            return result;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Arrays of <see cref="GroupRows"/> plausible penguins, as PredictionWriter binds them (one per column).</summary>
    private static Dictionary<string, string> GroupVariables(string version)
    {
        var random = new Random(7);
        string[] species = ["Adelie", "Chinstrap", "Gentoo"];
        string Array(Func<int, string> value) => "{" + string.Join(',', Enumerable.Range(0, GroupRows).Select(value)) + "}";
        return new Dictionary<string, string>
        {
            ["bl"] = Array(_ => (random.Next(340, 560) / 10.0).ToString(CultureInfo.InvariantCulture)),
            ["bd"] = Array(_ => (random.Next(135, 205) / 10.0).ToString(CultureInfo.InvariantCulture)),
            ["fl"] = Array(_ => random.Next(175, 230).ToString(CultureInfo.InvariantCulture)),
            ["bm"] = Array(_ => (random.Next(28, 63) * 100).ToString(CultureInfo.InvariantCulture)),
            ["species"] = Array(i => species[i % 3]),
            ["confidence"] = Array(_ => "0.91"),
            ["pa"] = Array(_ => "0.91"),
            ["pc"] = Array(_ => "0.05"),
            ["pg"] = Array(_ => "0.04"),
            ["channel"] = Array(_ => "api"),
            ["versions"] = Array(_ => version),
            ["ood"] = Array(_ => "0"),
            ["features"] = Array(_ => "NULL"),
        };
    }

    private static async Task<string> ActiveVersionAsync(string adminConnectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT version FROM model_versions WHERE status = 'active'", connection);
        return (string?)await command.ExecuteScalarAsync(cancellationToken) ?? throw new InvalidOperationException("No active model version.");
    }

    /// <summary>Deletes the predictions with ids in (<paramref name="after"/>, <paramref name="upTo"/>]: the rows pgbench inserted.</summary>
    private static async Task<long> DeleteInsertedAsync(string adminConnectionString, long after, long upTo, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("DELETE FROM predictions WHERE id > @after AND id <= @upTo", connection) { CommandTimeout = 600 };
        command.Parameters.AddWithValue("after", after);
        command.Parameters.AddWithValue("upTo", upTo);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // pgbench's per-transaction log lines: client_id transaction_no latency_us script_no epoch_s epoch_us.
    private static List<double> ReadLatencies(string directory)
    {
        var latencies = new List<double>();
        foreach (var file in Directory.GetFiles(directory, "latency.*"))
        {
            foreach (var line in File.ReadLines(file))
            {
                var fields = line.Split(' ');
                if (fields.Length >= 3 && long.TryParse(fields[2], CultureInfo.InvariantCulture, out var us))
                {
                    latencies.Add(us / 1000.0);
                }
            }
        }
        latencies.Sort();
        return latencies;
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TransactionRate();

    /// <summary>The pgbench rows of the benchmark table (req/s column: commits/s; notes: rows/s, CPU, WAL).</summary>
    public static void AppendRows(StringBuilder sb, IEnumerable<PgBenchResult> results, int clients, int threads)
    {
        ArgumentNullException.ThrowIfNull(sb);
        ArgumentNullException.ThrowIfNull(results);
        foreach (var r in results)
        {
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Name} ({clients} clients, {threads} threads, {r.Seconds:F0} s) | {r.TransactionsPerSecond:N0} commits/s | {r.P50Ms:F2} ms | {r.P99Ms:F2} ms | | | ceiling of PostgreSQL on this machine: **{r.RowsPerSecond:N0} rows/s** | PostgreSQL {r.PgCpuUsPerRow:F1} µs/row (its {clients} connections' set-up included), {r.Postgres.WalBytesPerRow:F0} WAL bytes/row; CPU: PostgreSQL {r.PgShare:P0}, pgbench {r.PgBenchShare:P0}; same table, columns and indexes as the app's insert, rows deleted afterwards |"));
        }
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Vigie.Stack.Bench;

/// <summary>
/// How the history's reads scale with the stored rows: the API and the page, filtered by species and by channel, on
/// the first page and on a deep cursor (the middle of the table), in a table emptied and filled to 10 thousand rows, then to
/// <see cref="BenchmarkOptions.HistoryRows"/>, with the plan PostgreSQL settles on for each read
/// (<c>EXPLAIN (ANALYZE, BUFFERS)</c> of the generic plan the app's prepared statement ends up with): the index it
/// uses and the rows it examines per page.
/// </summary>
public static partial class Benchmark
{
    /// <summary>One read: how long it took under load, and its plan.</summary>
    private sealed record HistoryRead(string Name, long Rows, Run Run, QueryPlan? Plan);

    /// <summary>What EXPLAIN says of a read: the scan and its index, rows examined (returned + filtered out), buffers.</summary>
    private sealed record QueryPlan(string Scan, long RowsExamined, long Buffers, double ExecutionMs);

    private static async Task<List<HistoryRead>> MeasureHistoryAsync(Session session)
    {
        var (options, console, token) = (session.Options, session.Console, session.CancellationToken);
        var database = session.Stack.Database.AdminConnectionString;
        var reads = new List<HistoryRead>();
        console.WriteLine("History at growing sizes:");
        // From an empty table, so the small size is shaped like the large one (not the warm-up's API predictions).
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync(token);
            await using var truncate = new NpgsqlCommand("TRUNCATE shadow_predictions, shadow_tallies, batch_rejections, predictions, batches", connection);
            await truncate.ExecuteNonQueryAsync(token);
        }
        foreach (var rows in new[] { 10_000L, options.HistoryRows })
        {
            var filled = await FillPredictionsAsync(database, rows, console, token);
            // Ids go on from the table's past rows (TRUNCATE keeps the identity): the middle of those stored now.
            var middle = await ScalarAsync(database, "SELECT coalesce((min(id) + max(id)) / 2, 0) FROM predictions", token);
            var length = TimeSpan.FromSeconds(Math.Min(options.DurationSeconds, 10));
            foreach (var (name, query) in HistoryQueries(middle))
            {
                foreach (var (surface, path) in new[] { ("API", "/api/predictions"), ("page", "/History") })
                {
                    var run = await session.MeasureAsync($"GET {surface} {name} at {filled:N0} rows", new Uri(session.Web, path + query), null, length, session.Stack.App.Id);
                    var plan = surface == "API" ? await ExplainAsync(database, name, middle, token) : null;
                    reads.Add(new HistoryRead($"{surface} {name}", filled, run, plan));
                    if (plan is not null)
                    {
                        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"    plan: {plan.Scan}, {plan.RowsExamined:N0} rows examined, {plan.Buffers:N0} buffers, {plan.ExecutionMs:F2} ms"));
                    }
                }
            }
        }
        return reads;
    }

    /// <summary>The reads measured: filter by species, by channel, each on the first page and from the middle of the table.</summary>
    private static IEnumerable<(string Name, string Query)> HistoryQueries(long middle) =>
    [
        ("species=Chinstrap, first page", "?species=Chinstrap"),
        ("species=Chinstrap, deep cursor", $"?species=Chinstrap&cursor={middle.ToString(CultureInfo.InvariantCulture)}"),
        ("channel=form, first page", "?channel=form"),
        ("channel=form, deep cursor", $"?channel=form&cursor={middle.ToString(CultureInfo.InvariantCulture)}"),
    ];

    /// <summary>
    /// The statement PredictionStore.ListSql writes for a read (the app's statements are prepared, so PostgreSQL settles
    /// on a generic plan after five executions: that plan is the one explained), 26 rows as the app asks for a page of 25.
    /// The Stack project does not reference the app: the statements are written here again, as in the README.
    /// </summary>
    private static async Task<QueryPlan> ExplainAsync(string database, string name, long middle, CancellationToken token)
    {
        // As PredictionStore.ListSql writes them: by species, the primary key from the cursor down; by channel, the
        // channel's index between (channel, cursor) and (channel, 0), $1 = long.MaxValue on the first page.
        var deep = name.Contains("deep", StringComparison.Ordinal);
        var where = name.StartsWith("species", StringComparison.Ordinal)
            ? deep ? "WHERE id < $1 AND species = 'Chinstrap'" : "WHERE species = 'Chinstrap'"
            : "WHERE channel <> 'batch' AND (channel, id) < ('form', $1) AND (channel, id) > ('form', 0)";
        var order = name.StartsWith("species", StringComparison.Ordinal) ? "id DESC" : "channel DESC, id DESC";
        var cursor = deep || name.StartsWith("species", StringComparison.Ordinal) ? middle : long.MaxValue;
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(token);
        foreach (var sql in new[] { "SET plan_cache_mode = force_generic_plan", $"PREPARE history_read(bigint, int) AS SELECT * FROM predictions {where} ORDER BY {order} LIMIT $2" })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(token);
        }
        await using var explain = new NpgsqlCommand(string.Create(CultureInfo.InvariantCulture, $"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE history_read({cursor}, 26)"), connection);
        var root = JsonDocument.Parse((string)(await explain.ExecuteScalarAsync(token))!).RootElement[0];
        var plan = root.GetProperty("Plan");
        var scans = new List<string>();
        long examined = 0;
        void Walk(JsonElement node)
        {
            if (node.TryGetProperty("Relation Name", out var relation) && relation.GetString() == "predictions")
            {
                var loops = node.GetProperty("Actual Loops").GetInt64();
                examined += (node.GetProperty("Actual Rows").GetInt64() + (node.TryGetProperty("Rows Removed by Filter", out var removed) ? removed.GetInt64() : 0)) * loops;
                scans.Add(node.TryGetProperty("Index Name", out var index) ? $"{node.GetProperty("Node Type").GetString()} on {index.GetString()}" : node.GetProperty("Node Type").GetString()!);
            }
            if (node.TryGetProperty("Plans", out var children))
            {
                foreach (var child in children.EnumerateArray())
                {
                    Walk(child);
                }
            }
        }
        Walk(plan);
        var buffers = plan.GetProperty("Shared Hit Blocks").GetInt64() + plan.GetProperty("Shared Read Blocks").GetInt64();
        return new QueryPlan(string.Join(" + ", scans), examined, buffers, root.GetProperty("Execution Time").GetDouble());
    }

    /// <summary>
    /// Adds predictions with one INSERT … SELECT per million until the table holds <paramref name="rows"/>, shaped like
    /// traffic: species 44/20/36 %, channels api with a form prediction in 20 and batches of 100,000 rows, feedback on
    /// 1 %, made over the 30 days before now in id order (rows already there are dated before them). Then VACUUM
    /// ANALYZE, as autovacuum would after such a load.
    /// </summary>
    private static async Task<long> FillPredictionsAsync(string database, long rows, TextWriter console, CancellationToken token)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var existing = await ScalarAsync(database, "SELECT count(*) FROM predictions", token);
        if (existing >= rows)
        {
            return existing;
        }
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { CommandTimeout = 0 }.ConnectionString);
        await connection.OpenAsync(token);
        async Task ExecuteAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(token);
        }
        var batches = (rows / 100_000) + 1;
        await ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"""
            INSERT INTO batches (id, file_name, accepted_rows, rejected_rows, model_version)
            SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(b), 12, '0'))::uuid, 'bench-' || b || '.csv', 100000, 0, 'bench-fill'
            FROM generate_series(0, {batches}) b
            ON CONFLICT (id) DO NOTHING
            """));
        // Everything already stored is older than what comes now: ids and created_at stay in the same order.
        await ExecuteAsync("UPDATE predictions SET created_at = now() - interval '31 days' WHERE created_at > now() - interval '31 days'");
        for (var from = existing; from < rows; from += 1_000_000)
        {
            var to = Math.Min(rows, from + 1_000_000);
            await ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"""
                INSERT INTO predictions (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence,
                    probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version, created_at, batch_id, batch_line,
                    actual_species, feedback_at)
                SELECT 34 + (g % 220) / 10.0, 13 + (g % 80) / 10.0, 172 + g % 60, 2700 + g % 3600, s.species, 0.9,
                       CASE s.species WHEN 'Adelie' THEN 0.9 ELSE 0.05 END, CASE s.species WHEN 'Chinstrap' THEN 0.9 ELSE 0.05 END,
                       CASE s.species WHEN 'Gentoo' THEN 0.9 ELSE 0.05 END,
                       c.channel, 'bench-fill', t.at,
                       CASE WHEN c.channel = 'batch' THEN ('00000000-0000-7000-8000-' || lpad(to_hex(g / 100000), 12, '0'))::uuid END,
                       CASE WHEN c.channel = 'batch' THEN (g % 100000)::int END,
                       CASE WHEN g % 100 = 7 THEN s.species END, CASE WHEN g % 100 = 7 THEN t.at END
                FROM generate_series({from}, {to - 1}) g
                CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 < 44 THEN 'Adelie' WHEN g % 100 < 64 THEN 'Chinstrap' ELSE 'Gentoo' END AS species) s
                CROSS JOIN LATERAL (SELECT CASE WHEN (g / 100000) % 3 = 2 THEN 'batch' WHEN g % 20 = 0 THEN 'form' ELSE 'api' END AS channel) c
                CROSS JOIN LATERAL (SELECT now() - interval '30 days' + interval '30 days' * (g::float8 / {rows}) AS at) t
                """));
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  filled {to:N0} of {rows:N0} rows"));
        }
        await ExecuteAsync("VACUUM ANALYZE predictions");
        var count = await ScalarAsync(database, "SELECT count(*) FROM predictions", token);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {count:N0} predictions stored ({System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s to fill and vacuum)"));
        return count;
    }

    private static async Task<long> ScalarAsync(string database, string sql, CancellationToken token)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(token);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(token), CultureInfo.InvariantCulture);
    }

    private static string HistoryTable(List<HistoryRead> reads)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| history read | rows stored | req/s | p50 | p99 | non-2xx | plan (generic, as prepared) | rows examined per page | buffers |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---|---:|---:|");
        foreach (var read in reads)
        {
            var plan = read.Plan ?? reads.FirstOrDefault(r => r.Rows == read.Rows && r.Plan is not null && r.Name[r.Name.IndexOf(' ')..] == read.Name[read.Name.IndexOf(' ')..])?.Plan;
            sb.AppendLine(string.Create(inv,
                $"| {read.Name} | {read.Rows:N0} | {read.Run.Wrk.RequestsPerSecond:N0} | {read.Run.Wrk.P50Ms:F2} ms | {read.Run.Wrk.P99Ms:F2} ms | {read.Run.Wrk.Failures} | {plan?.Scan} | {plan?.RowsExamined:N0} | {plan?.Buffers:N0} |"));
        }
        var small = reads.Min(r => r.Rows);
        var large = reads.Max(r => r.Rows);
        foreach (var read in reads.Where(r => r.Rows == large))
        {
            var before = reads.Single(r => r.Rows == small && r.Name == read.Name);
            sb.AppendLine(string.Create(inv,
                $"| **{read.Name}: {large:N0} vs {small:N0} rows** | {read.Run.Wrk.RequestsPerSecond / before.Run.Wrk.RequestsPerSecond:P0} of the throughput | {read.Run.Wrk.P50Ms / before.Run.Wrk.P50Ms:F2}× | {read.Run.Wrk.P99Ms / before.Run.Wrk.P99Ms:F2}× | | | | | |"));
        }
        return sb.ToString();
    }
}

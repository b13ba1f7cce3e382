using System.Globalization;
using System.Text.Json;
using Npgsql;
using Vigie.Web.Features.Predictions;

// On a database of its own (the model lifecycle tests' cluster and harness): the test fills the table directly.
namespace Vigie.Tests.Features.Models;

/// <summary>
/// A history page filtered by channel examines about one page of rows, wherever the cursor is, with the plan PostgreSQL
/// settles on for the app's prepared statement (the generic plan): not every row of the other channels in between.
/// </summary>
[NonParallelizable]
public sealed class HistoryPlanTests
{
    [Test]
    public async Task A_page_filtered_by_channel_examines_one_page_of_rows_even_below_a_large_batch_of_another_channel()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        // 50,000 API and form predictions, a 100,000-row batch, 50,000 more: as a busy deployment's table looks.
        await lifecycle.ScalarAsync<long>("""
            WITH b AS (INSERT INTO batches (id, file_name, accepted_rows, rejected_rows, model_version)
                       VALUES ('00000000-0000-7000-8000-000000000001', 'plan.csv', 100000, 0, 'plan') RETURNING id),
                 p AS (INSERT INTO predictions (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence,
                           probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version, batch_id, batch_line)
                       SELECT 40, 18, 190, 4000, 'Adelie', 0.9, 0.9, 0.05, 0.05, c.channel, 'plan',
                              CASE WHEN c.channel = 'batch' THEN (SELECT id FROM b) END, CASE WHEN c.channel = 'batch' THEN g END
                       FROM generate_series(1, 200000) g
                       CROSS JOIN LATERAL (SELECT CASE WHEN g BETWEEN 50001 AND 150000 THEN 'batch' WHEN g % 20 = 0 THEN 'form' ELSE 'api' END AS channel) c
                       ORDER BY g
                       RETURNING 1)
            SELECT count(*) FROM p
            """);
        await lifecycle.ScalarAsync<long>("SELECT count(*) FROM (SELECT 1) x; ANALYZE predictions");
        var (low, high) = (await lifecycle.ScalarAsync<long>("SELECT min(id) FROM predictions"), await lifecycle.ScalarAsync<long>("SELECT max(id) FROM predictions"));
        var aboveBatch = low + 150_000;   // the first API row after the batch
        var belowBatch = low + 50_000;    // the first batch row

        var examined = new Dictionary<string, long>();
        foreach (var (channel, before) in new (string, long?)[] { ("api", aboveBatch), ("form", aboveBatch), ("batch", high), ("api", null), ("batch", null), ("api", belowBatch) })
        {
            examined[$"{channel} before {before?.ToString(CultureInfo.InvariantCulture) ?? "none"}"] =
                await RowsExaminedAsync(lifecycle.ConnectionString, new PredictionQuery(25, before, null, channel));
        }

        TestContext.Out.WriteLine(string.Join('\n', examined.Select(e => $"{e.Key}: {e.Value} rows examined")));
        Assert.That(examined.Where(e => e.Value > 100).Select(e => $"{e.Key}: {e.Value}"), Is.Empty, "pages that examined more than a page of rows");
    }

    /// <summary>Rows the generic plan of <see cref="PredictionStore.ListSql"/> reads from predictions (returned and filtered out) for one page.</summary>
    private static async Task<long> RowsExaminedAsync(string connectionString, PredictionQuery query)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var sql = PredictionStore.ListSql(query).Replace("@Before", "$1", StringComparison.Ordinal).Replace("@Take", "$2", StringComparison.Ordinal);
        var before = query.Channel is null ? query.Before ?? 0 : query.Before ?? long.MaxValue;
        foreach (var statement in new[] { "SET plan_cache_mode = force_generic_plan", $"PREPARE page(bigint, int) AS {sql}" })
        {
            await using var command = new NpgsqlCommand(statement, connection);
            await command.ExecuteNonQueryAsync();
        }
        await using var explain = new NpgsqlCommand(string.Create(CultureInfo.InvariantCulture, $"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page({before}, {query.Limit + 1})"), connection);
        var plan = JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!).RootElement[0].GetProperty("Plan");
        long examined = 0;
        void Walk(JsonElement node)
        {
            if (node.TryGetProperty("Relation Name", out var relation) && relation.GetString() == "predictions")
            {
                examined += node.GetProperty("Actual Rows").GetInt64() + (node.TryGetProperty("Rows Removed by Filter", out var removed) ? removed.GetInt64() : 0);
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
        return examined;
    }
}

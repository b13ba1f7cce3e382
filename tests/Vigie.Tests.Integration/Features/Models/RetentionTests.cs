using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

// Beside the model lifecycle tests (their cluster, a database per test, their app harness): what the retention must
// keep is the model registry's training data.
namespace Vigie.Tests.Features.Models;

/// <summary>Retention__PredictionDays deletes old predictions in bounded steps and keeps the feedback rows.</summary>
[NonParallelizable]
public sealed class RetentionTests
{
    [Test]
    public async Task Retention_deletes_predictions_older_than_its_days_in_steps_and_keeps_feedback_and_recent_rows()
    {
        await using var lifecycle = await Lifecycle.StartAsync(settings: new Dictionary<string, string>
        {
            ["Retention:PredictionDays"] = "30",
            // Steps of 100 rows: the 240 old rows take several steps, each walking on from where the last stopped.
            ["Retention:BatchSize"] = "100",
            ["Retention:PauseMilliseconds"] = "0",
            ["Retention:IntervalSeconds"] = "1",
        });
        using var client = lifecycle.Client();
        var old = new List<long>();
        for (var i = 0; i < 240; i++)
        {
            old.Add((await Lifecycle.PredictAsync(client, Bird.Adelie with { BodyMassG = 3000 + i })).GetProperty("id").GetInt64());
        }
        var withFeedback = old.Where((_, i) => i % 50 == 7).ToList();
        foreach (var id in withFeedback)
        {
            await Lifecycle.FeedbackAsync(client, id, "Adelie");
        }
        var recent = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            recent.Add((await Lifecycle.PredictAsync(client, Bird.Contested)).GetProperty("id").GetInt64());
        }
        var deletedBefore = await DeletedCounterAsync(lifecycle);
        // 40 days ago: older than the retention. Ids stay in the order of creation, as they always are.
        var aged = await lifecycle.ScalarAsync<long>(
            $"WITH aged AS (UPDATE predictions SET created_at = created_at - interval '40 days' WHERE id <= {old.Max()} RETURNING 1) SELECT count(*) FROM aged");

        var expected = old.Count - withFeedback.Count;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (await lifecycle.ScalarAsync<long>($"SELECT count(*) FROM predictions WHERE id <= {old.Max()} AND actual_species IS NULL") > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        var left = await lifecycle.RowsAsync("SELECT id FROM predictions ORDER BY id");
        var history = await client.GetFromJsonAsync<JsonElement>("/api/predictions?limit=100", Lifecycle.Json);
        var deleted = await DeletedCounterAsync(lifecycle) - deletedBefore;

        Assert.Multiple(() =>
        {
            Assert.That(aged, Is.EqualTo(old.Count));
            Assert.That(left.Select(r => (long)r[0]!), Is.EqualTo(withFeedback.Concat(recent)), "feedback rows and recent rows are kept, every other old row is deleted");
            Assert.That(history.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("id").GetInt64()),
                Is.EqualTo(recent.Concat(withFeedback).OrderDescending()), "the history serves what is left");
            Assert.That(deleted, Is.EqualTo(expected), "vigie_retention_deleted_predictions_total counts what was deleted");
        });
    }

    private static async Task<double> DeletedCounterAsync(Lifecycle lifecycle)
    {
        using var http = new HttpClient();
        var exposition = await http.GetStringAsync(new Uri($"http://127.0.0.1:{lifecycle.Apps[0].MetricsPort.ToString(CultureInfo.InvariantCulture)}/metrics"));
        var line = exposition.Split('\n').Single(l => l.StartsWith("vigie_retention_deleted_predictions_total ", StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}

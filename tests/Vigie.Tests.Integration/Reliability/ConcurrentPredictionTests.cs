using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Vigie.Tests.Reliability;

/// <summary>
/// Concurrent predictions are written together by one statement (PredictionWriter): each request must still get the
/// id of its own row, committed before its 201.
/// </summary>
[NonParallelizable]
public sealed class ConcurrentPredictionTests
{
    [Test]
    public async Task Concurrent_predictions_each_answer_the_id_of_their_own_committed_row()
    {
        await using var app = await IsolatedApp.StartAsync(kestrel: true);
        using var client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{app.Port}")) };
        // Unique body masses tie each answer to its request; a thousand requests at once make groups of many rows.
        var answers = await Task.WhenAll(Enumerable.Range(0, 1000).Select(async i =>
        {
            var mass = 3000 + i / 10.0;
            using var response = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 46.1, billDepthMm = 13.2, flipperLengthMm = 211, bodyMassG = mass });
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(IsolatedApp.Json);
            return (Status: response.StatusCode, Mass: mass, Id: body.GetProperty("id").GetInt64(), Echo: body.GetProperty("bodyMassG").GetDouble(),
                Location: response.Headers.Location?.ToString());
        }));
        var rows = (await app.RowsAsync("SELECT id, body_mass_g FROM predictions WHERE channel = 'api'"))
            .ToDictionary(r => (long)r[0]!, r => (double)r[1]!);

        Assert.Multiple(() =>
        {
            Assert.That(answers.Select(a => a.Status), Has.All.EqualTo(HttpStatusCode.Created));
            Assert.That(answers.Select(a => a.Id).Distinct().Count(), Is.EqualTo(answers.Length), "one id per request");
            Assert.That(answers.Where(a => a.Echo != a.Mass), Is.Empty, "each answer describes its own request");
            Assert.That(answers.Where(a => !rows.TryGetValue(a.Id, out var stored) || stored != a.Mass), Is.Empty, "each id is the row of its request");
            Assert.That(answers.Where(a => a.Location != $"/api/predictions/{a.Id}"), Is.Empty);
            Assert.That(rows, Has.Count.EqualTo(answers.Length), "nothing stored twice, nothing extra");
        });
    }

    [Test]
    public async Task Concurrent_predictions_are_written_in_groups_by_one_statement_at_a_time()
    {
        await using var app = await IsolatedApp.StartAsync(kestrel: true);
        using var client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{app.Port}")) };
        var statuses = await Task.WhenAll(Enumerable.Range(0, 500).Select(async i =>
        {
            using var response = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 46.1, billDepthMm = 13.2, flipperLengthMm = 211, bodyMassG = 3000 + i });
            return response.StatusCode;
        }));
        // Each group is one transaction: its rows share their xmin. One writer (Database:PredictionWriters, default 1)
        // means one statement at a time, so the id ranges of two groups never interleave.
        var groups = await app.RowsAsync("""
            SELECT xmin::text, min(id), max(id), count(*) FROM predictions WHERE channel = 'api' GROUP BY 1 ORDER BY 2
            """);
        var ranges = groups.Select(g => (Min: (long)g[1]!, Max: (long)g[2]!, Rows: (long)g[3]!)).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(statuses, Has.All.EqualTo(HttpStatusCode.Created));
            Assert.That(ranges.Sum(r => r.Rows), Is.EqualTo(500));
            Assert.That(ranges, Has.Count.LessThan(500 / 2), "concurrent predictions share statements and commits");
            Assert.That(ranges.Where(r => r.Max - r.Min + 1 != r.Rows), Is.Empty, "each group's ids are one unbroken range");
            Assert.That(ranges.Zip(ranges.Skip(1)).Where(pair => pair.First.Max >= pair.Second.Min), Is.Empty, "no two groups were written at once");
        });
    }
}

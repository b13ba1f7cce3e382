using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Vigie.Tests.Reliability;

/// <summary>
/// A log line at ERROR must mean something is wrong. The app is started, walked through normal operation (every page,
/// predictions, a batch, a page that does not exist) and through a database outage, and its web.log read back: normal
/// operation logs no ERROR (a model or migrations still loading at start-up is not one), and the outage only that the database
/// is unreachable, with the 503 pages it causes logged as warnings without a stack trace.
/// </summary>
public sealed class LogLevelTests
{
    private IsolatedApp _app = null!;
    private List<JsonElement> _normal = [];
    private List<JsonElement> _outage = [];

    [OneTimeSetUp]
    public async Task WalkTheAppAsync()
    {
        _app = await IsolatedApp.StartAsync();
        using var client = _app.NewClient();

        using var created = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        using var upload = new MultipartFormDataContent
        {
            { new ByteArrayContent(Encoding.UTF8.GetBytes("bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,species\n39.1,18.7,181,3750,Adelie\nabc,1,1,1,Gentoo\n")), "file", "walk.csv" },
        };
        using var batch = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        Assert.That(batch.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var batchId = (await batch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("batchId").GetGuid();
        foreach (var (path, status) in new[]
        {
            ("/", 200), ("/Batch", 200), ($"/Batch?id={batchId}", 200), ("/History", 200), ($"/History?batch={batchId}", 200),
            ($"/Predictions/{id}", 200), ("/Alerts", 200), ("/Models", 200), ("/no-such-page", 404), ("/Predictions/987654321", 404),
            ($"/api/batches/{batchId}/results.csv", 200), ("/health/ready", 200),
        })
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.That((int)response.StatusCode, Is.EqualTo(status), path);
        }
        _normal = await LogAsync();

        _app.Cluster.Stop();
        // Until the probe has noticed (vigie_db_up 0), so its line is part of the outage walked.
        await WaitUntilAsync(async () => IsolatedApp.Sample(await _app.MetricsAsync(), "vigie_db_up") == 0);
        using (var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative)))
        {
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        }
        foreach (var path in new[] { "/History", "/Alerts", "/Models", "/", $"/Predictions/{id}" })
        {
            (await client.GetAsync(new Uri(path, UriKind.Relative))).Dispose();
        }
        using var refused = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        _app.Cluster.Start();
        await _app.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
        _outage = (await LogAsync()).Skip(_normal.Count).ToList();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Test]
    public void Normal_operation_from_start_up_to_the_last_page_logs_no_error()
    {
        Assert.That(_normal, Is.Not.Empty);
        Assert.That(_normal.Where(IsError).Select(Text), Is.Empty);
    }

    [Test]
    public void A_database_outage_logs_only_the_unreachable_database_at_error_and_its_503_pages_as_warnings_without_a_stack_trace()
    {
        Assert.Multiple(() =>
        {
            Assert.That(_outage.Where(IsError).Select(Text), Has.Exactly(1).StartsWith("Database unreachable"), "the probe notices the outage once");
            Assert.That(_outage.Where(IsError).Select(Text), Has.All.Contains("database unreachable").IgnoreCase,
                "nothing else at ERROR than the database being unreachable (the probe, and the readiness checks it fails)");
            Assert.That(_outage.Where(e => e.TryGetProperty("exception", out var exception) && exception.GetString() is { Length: > 0 }).Select(Text), Is.Empty,
                "no stack trace for an expected 503");
            Assert.That(_outage.Where(e => Text(e).StartsWith("Answered 503", StringComparison.Ordinal)), Is.Not.Empty, "the 503 pages are logged as warnings");
        });
    }

    [Test]
    public void The_home_page_summary_line_names_its_route()
    {
        Assert.That(_normal.Select(Text), Has.Some.Match(@"^GET / answered 200 in "));
        Assert.That(_normal.Select(Text), Has.None.Contains("GET  answered"));
    }

    [Test]
    public void Each_line_carries_the_route_once()
    {
        var both = _normal.Where(e => e.TryGetProperty("route", out _) && e.TryGetProperty("Route", out _)).Select(Text).ToList();
        Assert.That(both, Is.Empty, "lines with both a 'route' and a 'Route' property");
        var summary = _normal.First(e => Text(e).StartsWith("GET /History answered", StringComparison.Ordinal));
        Assert.That(summary.GetProperty("route").GetString(), Is.EqualTo("/History"));
    }

    private static bool IsError(JsonElement entry) => entry.GetProperty("level").GetString() is "error" or "fatal";

    private static string Text(JsonElement entry) => entry.GetProperty("message").GetString() ?? string.Empty;

    private async Task<List<JsonElement>> LogAsync()
    {
        NLog.LogManager.Flush(TimeSpan.FromSeconds(5));
        await using var stream = new FileStream(Path.Combine(_app.Factory.LogDirectory, "web.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return [.. (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement)];
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "timed out waiting for the outage to be noticed");
            await Task.Delay(200);
        }
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Infrastructure;

public sealed class ServiceEndpointsTests
{
    [Test]
    public async Task Health_endpoints_report_live_and_ready()
    {
        using var client = NewClient();
        using var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
        using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        var checks = (await ReadJsonAsync(ready)).GetProperty("checks");
        Assert.Multiple(() =>
        {
            Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(checks.GetProperty("database").GetProperty("status").GetString(), Is.EqualTo("Healthy"));
            Assert.That(checks.GetProperty("model").GetProperty("status").GetString(), Is.EqualTo("Healthy"));
        });
    }

    [Test]
    public async Task The_OpenAPI_document_lists_every_API_route()
    {
        using var client = NewClient();
        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json", SharedApp.Json);
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(paths, Is.SupersetOf(new[]
        {
            "/api/predictions", "/api/predictions/{id}", "/api/predictions/{id}/feedback", "/api/predictions/batch", "/api/model",
        }));
    }

    [Test]
    public async Task Unknown_api_routes_are_404_problem_json_and_unknown_pages_a_designed_page()
    {
        using var client = NewClient();
        using var api = await client.GetAsync(new Uri("/api/no/such/thing", UriKind.Relative));
        using var page = await client.GetAsync(new Uri("/no-such-page", UriKind.Relative));
        Assert.Multiple(async () =>
        {
            Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(api.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(await page.Content.ReadAsStringAsync(), Does.Contain("Page not found"));
        });
    }

    [Test]
    public async Task Metrics_are_served_by_the_sidecar_only()
    {
        using var client = NewClient();
        using var publicMetrics = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        using var sidecar = new HttpClient();
        var exposition = await sidecar.GetStringAsync(new Uri($"http://127.0.0.1:{App.MetricsPort}/metrics"));
        Assert.Multiple(() =>
        {
            Assert.That(publicMetrics.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(exposition, Does.Contain("# TYPE vigie_http_requests_total counter"));
            Assert.That(exposition, Does.Contain("vigie_db_up 1"));
            Assert.That(exposition, Does.Contain("process_cpu_seconds_total"));
        });
    }

    [Test]
    public async Task The_log_file_holds_one_json_line_per_request_with_trace_id_and_route()
    {
        using var client = NewClient();
        using var response = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
        var trace = (await ReadJsonAsync(await client.GetAsync(new Uri("/api/predictions/0", UriKind.Relative)))).GetProperty("traceId").GetString();
        // The summary line is written once the answer has gone (other tests' 404s share the file): wait for this one's.
        var path = Path.Combine(App.LogDirectory, "web.log");
        string[] lines;
        List<JsonElement> entries;
        JsonElement summary;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            NLog.LogManager.Flush(TimeSpan.FromSeconds(5));
            lines = await ReadSharedAsync(path);
            entries = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
            summary = entries.LastOrDefault(e => e.GetProperty("message").GetString()!.StartsWith("GET /api/predictions/{id:long} answered 404", StringComparison.Ordinal)
                && e.TryGetProperty("traceId", out var id) && id.GetString() == trace);
        }
        while (summary.ValueKind != JsonValueKind.Object && DateTime.UtcNow < deadline && await Task.Delay(100).ContinueWith(_ => true));

        Assert.Multiple(() =>
        {
            Assert.That(entries, Has.All.Matches<JsonElement>(e => e.TryGetProperty("timestamp", out _) && e.TryGetProperty("level", out _) && e.TryGetProperty("logger", out _)));
            Assert.That(summary.ValueKind, Is.EqualTo(JsonValueKind.Object), "a request-summary line for the 404");
            Assert.That(summary.GetProperty("traceId").GetString(), Is.EqualTo(trace));
            Assert.That(summary.GetProperty("route").GetString(), Does.Contain("/api/predictions/{id:long}"));
            Assert.That(summary.GetProperty("StatusCode").GetInt32(), Is.EqualTo(404));
            Assert.That(lines, Has.None.Contains("billLengthMm"), "request bodies are never logged");
        });
    }

    private static async Task<string[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}

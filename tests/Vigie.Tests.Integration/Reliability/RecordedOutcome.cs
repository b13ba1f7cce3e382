using System.Globalization;
using System.Text.Json;

namespace Vigie.Tests.Reliability;

/// <summary>
/// What an app recorded for one request: the change of every <c>vigie_http_requests_total</c> series on its sidecar,
/// and the request-summary lines web.log gained. prometheus-net's registry is process-wide, so only changes count.
/// </summary>
internal sealed record RecordedOutcome(IReadOnlyDictionary<string, double> Counted, IReadOnlyList<JsonElement> Summaries)
{
    /// <summary>
    /// Sends one request with <paramref name="send"/> (which returns the status the client received) and waits until the
    /// app has counted and logged it.
    /// </summary>
    public static async Task<(int Status, RecordedOutcome Recorded)> OfAsync(IsolatedApp app, Func<Task<int>> send)
    {
        var countsBefore = RequestCounts(await app.MetricsAsync());
        var linesBefore = (await LogLinesAsync(app)).Length;
        var status = await send();

        // The client may have its answer before the app's pipeline has returned: wait for the count and the line.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        RecordedOutcome recorded;
        while (true)
        {
            recorded = await ReadAsync(app, countsBefore, linesBefore);
            if ((recorded.Counted.Count > 0 && recorded.Summaries.Count > 0) || DateTime.UtcNow > deadline)
            {
                break;
            }
            await Task.Delay(100);
        }
        // A second count of the same request (an error page re-executed through the pipeline) would come right after.
        await Task.Delay(300);
        return (status, await ReadAsync(app, countsBefore, linesBefore));
    }

    /// <summary>The label set <c>vigie_http_requests_total</c> uses for a request.</summary>
    public static string Series(string route, string method, int status) =>
        string.Create(CultureInfo.InvariantCulture, $"route=\"{route}\",method=\"{method}\",status=\"{status}\"");

    /// <summary>Asserts the request was counted once, in the series of <paramref name="status"/>, and logged once with it.</summary>
    public void AssertCountedAndLoggedOnce(string route, string method, int status)
    {
        var counted = string.Join("; ", Counted.Select(c => string.Create(CultureInfo.InvariantCulture, $"{{{c.Key}}} +{c.Value}")));
        var logged = string.Join("; ", Summaries.Select(s => s.GetProperty("message").GetString()));
        TestContext.Out.WriteLine($"counted: {counted}");
        TestContext.Out.WriteLine($"logged: {logged}");
        Assert.Multiple(() =>
        {
            Assert.That(Counted, Is.EquivalentTo(new Dictionary<string, double> { [Series(route, method, status)] = 1 }),
                $"vigie_http_requests_total changes: {counted}");
            Assert.That(Summaries, Has.Count.EqualTo(1), $"request-summary lines: {logged}");
            if (Summaries.Count == 1)
            {
                var summary = Summaries[0];
                Assert.That(summary.GetProperty("StatusCode").GetInt32(), Is.EqualTo(status), logged);
                // The route asked for, not the error page that answered (one property: "route").
                Assert.That(summary.GetProperty("route").GetString(), Is.EqualTo(route), logged);
                Assert.That(summary.GetProperty("Method").GetString(), Is.EqualTo(method), logged);
            }
        });
    }

    private static async Task<RecordedOutcome> ReadAsync(IsolatedApp app, Dictionary<string, double> countsBefore, int linesBefore)
    {
        var counts = RequestCounts(await app.MetricsAsync());
        var changes = counts
            .Select(c => (c.Key, Change: c.Value - countsBefore.GetValueOrDefault(c.Key)))
            .Where(c => c.Change != 0)
            .ToDictionary(c => c.Key, c => c.Change);
        var summaries = (await LogLinesAsync(app)).Skip(linesBefore)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .Where(entry => entry.TryGetProperty("StatusCode", out _) && entry.TryGetProperty("ElapsedMs", out _))
            .ToList();
        return new RecordedOutcome(changes, summaries);
    }

    /// <summary>Every <c>vigie_http_requests_total</c> sample of an exposition, by label set.</summary>
    private static Dictionary<string, double> RequestCounts(string exposition)
    {
        const string prefix = "vigie_http_requests_total{";
        var counts = new Dictionary<string, double>();
        foreach (var line in exposition.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var end = line.LastIndexOf('}');
            counts[line[prefix.Length..end]] = double.Parse(line[(end + 1)..].Trim(), CultureInfo.InvariantCulture);
        }
        return counts;
    }

    private static async Task<string[]> LogLinesAsync(IsolatedApp app)
    {
        NLog.LogManager.Flush(TimeSpan.FromSeconds(5));
        var path = Path.Combine(app.Factory.LogDirectory, "web.log");
        if (!File.Exists(path))
        {
            return [];
        }
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync();
        // Only complete lines: the async target may be writing the next one.
        return text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}

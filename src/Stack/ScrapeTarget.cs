using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Vigie.Stack;

/// <summary>
/// One of Prometheus' active targets: whether its last scrape worked (<see cref="Health"/>) and, for a blackbox probe,
/// what the probe found (<see cref="Probe"/>). The two differ: the scrape of a probe is "up" whenever the exporter
/// answered, even when the URL it probed answered 503.
/// </summary>
public sealed record ScrapeTarget(string Job, string Instance, string Health, string Error, ProbeResult? Probe)
{
    /// <summary>The job whose targets are URLs probed through blackbox-exporter (prometheus/prometheus.yml).</summary>
    public const string BlackboxJob = "blackbox";

    /// <summary>Scraped, and, for a probe, the probe succeeded.</summary>
    public bool IsHealthy => Health == "up" && (Job != BlackboxJob || Probe is { Success: true });

    /// <summary>The active targets of the Prometheus at <paramref name="prometheus"/>, each probe with its latest result.</summary>
    public static async Task<IReadOnlyList<ScrapeTarget>> ReadAsync(HttpClient http, Uri prometheus, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        var document = await http.GetFromJsonAsync<JsonElement>(new Uri(prometheus, "/api/v1/targets?state=active"), cancellationToken);
        var success = await ByInstanceAsync(http, prometheus, $"probe_success{{job=\"{BlackboxJob}\"}}", cancellationToken);
        var status = await ByInstanceAsync(http, prometheus, $"probe_http_status_code{{job=\"{BlackboxJob}\"}}", cancellationToken);
        return document.GetProperty("data").GetProperty("activeTargets").EnumerateArray().Select(t =>
        {
            var job = t.GetProperty("labels").GetProperty("job").GetString()!;
            var instance = t.GetProperty("labels").GetProperty("instance").GetString()!;
            var probe = job == BlackboxJob && success.TryGetValue(instance, out var ok)
                ? new ProbeResult(ok == 1, status.TryGetValue(instance, out var code) && code > 0 ? (int)code : null)
                : null;
            return new ScrapeTarget(job, instance, t.GetProperty("health").GetString()!, t.GetProperty("lastError").GetString() ?? string.Empty, probe);
        }).OrderBy(t => t.Job, StringComparer.Ordinal).ThenBy(t => t.Instance, StringComparer.Ordinal).ToList();
    }

    /// <summary>Latest value of each series of <paramref name="query"/>, by its instance label.</summary>
    private static async Task<Dictionary<string, double>> ByInstanceAsync(HttpClient http, Uri prometheus, string query, CancellationToken cancellationToken)
    {
        var document = await http.GetFromJsonAsync<JsonElement>(new Uri(prometheus, "/api/v1/query?query=" + Uri.EscapeDataString(query)), cancellationToken);
        var values = new Dictionary<string, double>();
        foreach (var series in document.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            values[series.GetProperty("metric").GetProperty("instance").GetString()!] =
                double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }
        return values;
    }

    /// <summary>Writes <paramref name="targets"/> as a table: scrape health, probe result, last scrape error.</summary>
    public static void Print(IEnumerable<ScrapeTarget> targets, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine();
        output.WriteLine($"  {"job",-16} {"instance",-44} {"scrape",-7} {"probe",-12} error");
        foreach (var t in targets)
        {
            output.WriteLine($"  {t.Job,-16} {t.Instance,-44} {t.Health,-7} {t.Probe?.ToString() ?? (t.Job == BlackboxJob ? "no result" : ""),-12} {t.Error}");
        }
        output.WriteLine();
    }
}

/// <summary>What a blackbox probe found: <c>probe_success</c> and the HTTP status the probed URL answered (none when it did not answer).</summary>
public sealed record ProbeResult(bool Success, int? HttpStatus)
{
    public override string ToString() => (Success ? "ok" : "FAILED") + (HttpStatus is { } code ? string.Create(CultureInfo.InvariantCulture, $" {code}") : string.Empty);
}

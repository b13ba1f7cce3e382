using System.Text;
using System.Text.RegularExpressions;
using Vigie.Metrics;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Stack;
using Vigie.Testing;
using static Vigie.Tests.Stack.Live.LiveStack;

namespace Vigie.Tests.Stack.Live;

/// <summary>What Prometheus sees of the running stack after real traffic.</summary>
public sealed partial class ScrapeTests
{
    /// <summary>Every metric family the catalog declares, with its type, read from a fresh registry's exposition.</summary>
    private static async Task<IReadOnlyList<(string Name, string Type)>> CatalogFamiliesAsync()
    {
        var registry = global::Prometheus.Metrics.NewCustomRegistry();
        _ = new HttpInstruments(registry);
        _ = new VigieMetrics(registry);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return TypeLine().Matches(Encoding.UTF8.GetString(stream.ToArray())).Select(m => (m.Groups[1].Value, m.Groups[2].Value)).ToList();
    }

    [Test]
    public async Task Every_scrape_target_is_up()
    {
        var targets = await Native.WaitForTargetsUpAsync(TimeSpan.FromSeconds(30));
        TestContext.Out.WriteLine(string.Join('\n', targets));
        Assert.Multiple(() =>
        {
            Assert.That(targets.Select(t => t.Job).Distinct(), Is.EquivalentTo(new[] { "vigie-web", "node-exporter", "postgres-exporter", "prometheus", "blackbox", "alertmanager" }));
            Assert.That(targets.Where(t => t.Health != "up"), Is.Empty);
        });
    }

    [Test]
    public async Task Every_metric_family_of_the_catalog_has_series_after_traffic()
    {
        var families = await CatalogFamiliesAsync();
        Assert.That(families, Has.Count.GreaterThanOrEqualTo(16));
        var empty = new List<string>();
        foreach (var (name, type) in families)
        {
            var series = await PrometheusApi.QueryAsync(type == "histogram" ? $"{name}_bucket" : name);
            if (series.Count == 0)
            {
                empty.Add(name);
            }
        }
        Assert.That(empty, Is.Empty, "catalog metrics without series in Prometheus");
    }

    [TestCase("vigie_predictions_total{channel=\"form\"}")]
    [TestCase("vigie_predictions_total{channel=\"api\"}")]
    [TestCase("vigie_predictions_total{channel=\"batch\"}")]
    [TestCase("vigie_feedback_total{outcome=\"correct\"}")]
    [TestCase("vigie_feedback_total{outcome=\"incorrect\"}")]
    [TestCase("vigie_batch_rows_total{outcome=\"accepted\"}")]
    [TestCase("vigie_batch_rows_total{outcome=\"rejected\"}")]
    [TestCase("vigie_http_requests_total{route=\"/api/predictions\",method=\"POST\",status=\"400\"}")]
    [TestCase("vigie_http_requests_total{route=\"/api/predictions/{id:long}\",status=\"404\"}")]
    [TestCase("vigie_db_query_duration_seconds_count{operation=\"copy_batch\"}")]
    [TestCase("vigie_log_events_total{level=\"info\"}")]
    public async Task Traffic_shows_in_the_counters(string selector)
    {
        var values = await PrometheusApi.ValuesAsync($"sum({selector})");
        Assert.That(values.Single(), Is.GreaterThan(0), selector);
    }

    [Test]
    public async Task Drift_model_and_database_gauges_are_published()
    {
        Assert.Multiple(async () =>
        {
            Assert.That(await PrometheusApi.ValuesAsync("vigie_db_up"), Is.EqualTo(new[] { 1.0 }));
            Assert.That((await PrometheusApi.QueryAsync("vigie_feature_drift_psi")).Count, Is.EqualTo(VigieMetrics.Features.Count));
            Assert.That(await PrometheusApi.ValuesAsync("vigie_model_accuracy_ratio"), Has.All.GreaterThanOrEqualTo(0.95));
            Assert.That(await PrometheusApi.ValuesAsync("vigie_model_info"), Is.EqualTo(new[] { 1.0 }));
            Assert.That(await PrometheusApi.ValuesAsync("vigie_build_info"), Is.EqualTo(new[] { 1.0 }));
        });
    }

    [TestCase("process_cpu_seconds_total{job=\"vigie-web\"}")]
    [TestCase("process_working_set_bytes{job=\"vigie-web\"}")]
    [TestCase("dotnet_collection_count_total{job=\"vigie-web\"}")]
    [TestCase("dotnet_total_memory_bytes{job=\"vigie-web\"}")]
    [TestCase("system_runtime_dotnet_thread_pool_queue_length{job=\"vigie-web\"}")]
    [TestCase("system_runtime_dotnet_gc_pause_time{job=\"vigie-web\"}")]
    [TestCase("node_cpu_seconds_total")]
    [TestCase("node_memory_MemAvailable_bytes")]
    [TestCase("node_filesystem_avail_bytes")]
    [TestCase("probe_success{instance=~\".*/health/ready\"} == 1")]
    public async Task Runtime_host_and_uptime_signals_are_scraped(string selector)
    {
        Assert.That(await PrometheusApi.QueryAsync(selector), Is.Not.Empty, selector);
    }

    [Test]
    public async Task The_live_exposition_passes_promtool_check_metrics_with_no_finding()
    {
        var promtool = Executables.Find(Executables.Promtool);
        Infrastructure.Require(promtool is not null, "promtool is not installed");
        using var http = new HttpClient();
        var exposition = await http.GetStringAsync(Native.MetricsUrl);
        var result = await ProcessRunner.RunAsync(promtool!, ["check", "metrics"], standardInput: exposition);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.All);
            Assert.That(result.All.Trim(), Is.Empty, "findings of promtool check metrics");
        });
    }

    [Test]
    public async Task Metrics_are_not_served_on_the_public_port()
    {
        using var response = await Traffic.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.That((int)response.StatusCode, Is.EqualTo(404));
    }

    [Test]
    public async Task A_thousand_distinct_ids_and_query_strings_add_no_series()
    {
        // Series identities (name and labels, not values) of the request-driven families. Other families may gain a
        // series meanwhile from background work (a model switch, a first training run); those do not depend on paths.
        async Task<(HashSet<string> Http, string All)> SeriesAsync()
        {
            using var http = new HttpClient();
            var text = await http.GetStringAsync(Native.MetricsUrl);
            var series = text.Split('\n')
                .Where(l => l.StartsWith("vigie_http_", StringComparison.Ordinal) || l.StartsWith("http_", StringComparison.Ordinal))
                .Select(l => l[..l.LastIndexOf(' ')])
                .ToHashSet();
            return (series, text);
        }
        var random = new Random(3);
        var markers = new List<string>();
        async Task HitAsync(int i)
        {
            var id = random.NextInt64(1_000_000, long.MaxValue);
            var query = Guid.NewGuid().ToString("N");
            markers.Add(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            markers.Add(query);
            (await Traffic.Http.GetAsync(new Uri($"/api/predictions/{id}?q={query}", UriKind.Relative))).Dispose();
            (await Traffic.Http.GetAsync(new Uri($"/Predictions/{id}?ref={i}", UriKind.Relative))).Dispose();
            (await Traffic.Http.GetAsync(new Uri($"/no/such/path/{id}", UriKind.Relative))).Dispose();
        }
        for (var i = 0; i < 5; i++)
        {
            await HitAsync(i);
        }
        var (before, _) = await SeriesAsync();
        for (var i = 5; i < 1000; i++)
        {
            await HitAsync(i);
        }
        var (after, all) = await SeriesAsync();
        Assert.Multiple(() =>
        {
            Assert.That(after.Except(before), Is.Empty, "request series added by the distinct ids");
            Assert.That(after, Has.Count.EqualTo(before.Count));
            Assert.That(markers.Where(m => all.Contains(m, StringComparison.Ordinal)), Is.Empty, "an id or query string leaked into a label");
        });
    }

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}

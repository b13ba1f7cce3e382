using System.Text;
using System.Text.RegularExpressions;
using Prometheus;
using Vigie.Metrics;

namespace Vigie.Tests.Unit.Metrics;

public sealed partial class MetricCatalogTests
{
    private static async Task<string> ExpositionAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Test]
    public async Task Every_instrument_follows_the_naming_rules()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var catalog = new VigieMetrics(registry);
        catalog.SetModel("abc123", "trainer", 0.97);
        var types = TypeLine().Matches(await ExpositionAsync(registry)).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

        Assert.That(types, Has.Count.EqualTo(typeof(VigieMetrics).GetProperties().Count(p => p.PropertyType.Namespace == "Prometheus")));
        Assert.Multiple(() =>
        {
            foreach (var (name, type) in types)
            {
                Assert.That(name, Does.StartWith("vigie_"));
                if (type == "counter")
                {
                    Assert.That(name, Does.EndWith("_total"), name);
                }
                if (type == "histogram")
                {
                    Assert.That(name, Does.EndWith("_seconds").Or.EndWith("_ratio"), name);
                }
            }
        });
    }

    [Test]
    public async Task Model_info_and_zeroed_prediction_series_exist_as_soon_as_a_model_is_set()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        new VigieMetrics(registry).SetModel("abc123", "LbfgsMaximumEntropy", 0.97);
        var text = await ExpositionAsync(registry);
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain("vigie_model_info{model_version=\"abc123\",trainer=\"LbfgsMaximumEntropy\"} 1"));
            Assert.That(text, Does.Contain("vigie_model_accuracy_ratio{model_version=\"abc123\",status=\"active\"} 0.97"));
            Assert.That(text, Does.Contain("vigie_predictions_total{species=\"Gentoo\",channel=\"batch\",model_version=\"abc123\"} 0"));
            Assert.That(text, Does.Contain("vigie_log_events_total{level=\"error\"} 0"));
        });
    }

    [Test]
    public async Task Background_failures_start_at_zero_for_every_loop_so_an_alert_sees_the_first_one()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var catalog = new VigieMetrics(registry);
        catalog.RecordBackgroundFailure("database_probe");
        var text = await ExpositionAsync(registry);
        Assert.Multiple(() =>
        {
            foreach (var loop in VigieMetrics.BackgroundLoops.Where(l => l != "database_probe"))
            {
                Assert.That(text, Does.Contain($"vigie_background_failures_total{{loop=\"{loop}\"}} 0"), loop);
            }
            Assert.That(text, Does.Contain("vigie_background_failures_total{loop=\"database_probe\"} 1"));
        });
    }

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}

using System.Text;
using System.Text.RegularExpressions;
using Prometheus;
using System.Reflection;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Classifier;

namespace Vigie.Tests.Unit.Infrastructure.Telemetry;

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

        var instruments = typeof(VigieMetrics).GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(p => typeof(Collector).IsAssignableFrom(p.PropertyType)).ToList();
        Assert.That(types, Has.Count.EqualTo(instruments.Count));
        Assert.That(instruments.Where(p => p.GetMethod!.IsPublic).Select(p => p.Name), Is.Empty, "instruments are reached only through methods that honour Enabled");
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

    [Test]
    public async Task Prediction_series_are_zeroed_for_every_species_and_channel_their_owners_declare()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        new VigieMetrics(registry).SetModel("abc123", "trainer", 0.97);
        var text = await ExpositionAsync(registry);
        Assert.Multiple(() =>
        {
            foreach (var species in Species.All)
            {
                foreach (var channel in Channels.All)
                {
                    Assert.That(text, Does.Contain($"vigie_predictions_total{{species=\"{species}\",channel=\"{channel}\",model_version=\"abc123\"}} 0"));
                }
            }
            // The catalog reads the measurement table; these label values are what the drift panels and runbook name.
            Assert.That(VigieMetrics.Features, Is.EqualTo(new[] { "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g" }));
        });
    }

    [Test]
    public async Task Nothing_is_recorded_when_metrics_are_disabled()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var catalog = new VigieMetrics(registry, enabled: false);
        catalog.SetModel("abc123", "trainer", 0.97);
        catalog.SetBuildInfo("1.0.0", "10.0.0");
        catalog.RecordAlertNotification("firing", "critical");
        catalog.RecordDbError("ping");
        var text = await ExpositionAsync(registry);
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Not.Contain("vigie_model_info{"));
            Assert.That(text, Does.Not.Contain("vigie_build_info{"));
            Assert.That(text, Does.Contain("vigie_alert_notifications_total{status=\"firing\",severity=\"critical\"} 0"));
            Assert.That(text, Does.Contain("vigie_db_errors_total{operation=\"ping\"} 0"));
        });
    }

    [Test]
    public void Database_operation_labels_are_exactly_the_names_the_code_gives_its_operations()
    {
        var named = NamesInSource(DatabaseOperationName());
        Assert.That(VigieDatabase.Operations, Is.EquivalentTo(named), "VigieDatabase.Operations labels the DB metrics; list a new operation there");
    }

    [Test]
    public void Background_loop_labels_are_exactly_the_names_the_loops_report()
    {
        var named = NamesInSource(LoopName());
        Assert.That(BackgroundLoops.Names, Is.EquivalentTo(named), "BackgroundLoops.Names labels vigie_background_failures_total; list a new loop there");
    }

    // The names the web app's source passes as string literals, read from the files themselves: the lists above are
    // what the metrics pre-create, the literals are what the code records, and nothing else ties the two together.
    private static HashSet<string> NamesInSource(Regex pattern)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Vigie.sln")))
        {
            dir = dir.Parent;
        }
        Assert.That(dir, Is.Not.Null, "Vigie.sln not found above " + AppContext.BaseDirectory);
        var web = Path.Combine(dir!.FullName, "src", "Web");
        return Directory.EnumerateFiles(web, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => pattern.Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"(?:RunAsync\(\s*|ThrowIfUnavailable\(\s*|const string Operation = )""([a-z_]+)""")]
    private static partial Regex DatabaseOperationName();

    [GeneratedRegex(@"(?:loops\.Failed\(\s*|const string Loop = )""([a-z_]+)""")]
    private static partial Regex LoopName();

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}

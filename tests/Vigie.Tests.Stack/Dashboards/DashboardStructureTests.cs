using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vigie.Metrics;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Testing;
using YamlDotNet.RepresentationModel;

namespace Vigie.Tests.Stack.Dashboards;

/// <summary>The Grafana provisioning files as Grafana will read them, checked without Grafana.</summary>
public sealed partial class DashboardStructureTests
{
    private static string Provisioning => Path.Combine(Infrastructure.RepositoryRoot, "grafana", "provisioning");

    private static YamlMappingNode Yaml(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static string ProvisionedDatasourceUid()
    {
        var datasources = (YamlSequenceNode)Yaml(Path.Combine(Provisioning, "datasources", "datasources.yml"))["datasources"];
        return ((YamlScalarNode)((YamlMappingNode)datasources.Single())["uid"]).Value!;
    }

    public static IEnumerable<TestCaseData> Dashboards() => Dashboard.All().Select(d => new TestCaseData(d).SetArgDisplayNames(d.File));

    [Test]
    public void The_datasource_is_the_default_Prometheus_of_the_compose_network()
    {
        var datasource = (YamlMappingNode)((YamlSequenceNode)Yaml(Path.Combine(Provisioning, "datasources", "datasources.yml"))["datasources"]).Single();
        Assert.Multiple(() =>
        {
            Assert.That(((YamlScalarNode)datasource["type"]).Value, Is.EqualTo("prometheus"));
            Assert.That(((YamlScalarNode)datasource["url"]).Value, Is.EqualTo("http://prometheus:9090"));
            Assert.That(((YamlScalarNode)datasource["isDefault"]).Value, Is.EqualTo("true"));
            Assert.That(ProvisionedDatasourceUid(), Is.Not.Empty);
        });
    }

    [Test]
    public void The_dashboard_provider_reads_the_folder_compose_mounts_into_the_Vigie_folder()
    {
        var provider = (YamlMappingNode)((YamlSequenceNode)Yaml(Path.Combine(Provisioning, "dashboards", "dashboards.yml"))["providers"]).Single();
        var path = ((YamlScalarNode)((YamlMappingNode)provider["options"])["path"]).Value!;
        var compose = File.ReadAllText(Path.Combine(Infrastructure.RepositoryRoot, "docker-compose.yml"));
        var mount = ComposeGrafanaMount().Match(compose);
        Assert.That(mount.Success, Is.True, "compose mounts ./grafana/provisioning read-only");
        var containerRoot = mount.Groups[1].Value.TrimEnd('/');
        Assert.Multiple(() =>
        {
            Assert.That(((YamlScalarNode)provider["folder"]).Value, Is.EqualTo("Vigie"));
            Assert.That(((YamlScalarNode)provider["type"]).Value, Is.EqualTo("file"));
            Assert.That(path, Does.StartWith(containerRoot + "/"), "the provider reads below the mounted folder");
            var repositoryPath = Path.Combine(Provisioning, path[(containerRoot.Length + 1)..]);
            Assert.That(Directory.GetFiles(repositoryPath, "*.json"), Has.Length.EqualTo(6), repositoryPath);
        });
    }

    [TestCaseSource(nameof(Dashboards))]
    public void Dashboard_has_a_stable_uid_a_refresh_and_unique_panel_ids(Dashboard dashboard)
    {
        var ids = dashboard.Panels().Select(p => p.GetProperty("id").GetInt32()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(dashboard.Uid, Does.Match("^vigie-[a-z]+$"));
            Assert.That(dashboard.Root.GetProperty("refresh").GetString(), Is.Not.Empty);
            Assert.That(ids, Is.Unique);
        });
    }

    // A fresh stack has no feedback, no candidate in shadow, no batch yet: Grafana's bare "No data" reads as broken.
    [TestCaseSource(nameof(Dashboards))]
    public void Every_data_panel_explains_what_an_empty_result_means(Dashboard dashboard)
    {
        var unexplained = dashboard.Panels()
            .Where(p => p.TryGetProperty("targets", out var targets) && targets.GetArrayLength() > 0)
            .Where(p => !(p.TryGetProperty("fieldConfig", out var config) && config.TryGetProperty("defaults", out var defaults)
                && defaults.TryGetProperty("noValue", out var noValue) && noValue.GetString() is { Length: > 10 } text && text != "No data"))
            .Select(p => p.GetProperty("title").GetString())
            .ToList();
        Assert.That(unexplained, Is.Empty, "panels without an explained fieldConfig.defaults.noValue");
    }

    [TestCaseSource(nameof(Dashboards))]
    public void Panels_do_not_overlap_on_the_grid(Dashboard dashboard)
    {
        var boxes = dashboard.Panels().Select(p => (Title: p.GetProperty("title").GetString(), Grid: p.GetProperty("gridPos")))
            .Select(p => (p.Title, X: p.Grid.GetProperty("x").GetInt32(), Y: p.Grid.GetProperty("y").GetInt32(), W: p.Grid.GetProperty("w").GetInt32(), H: p.Grid.GetProperty("h").GetInt32()))
            .ToList();
        var overlaps = new List<string>();
        for (var i = 0; i < boxes.Count; i++)
        {
            Assert.That(boxes[i].X + boxes[i].W, Is.LessThanOrEqualTo(24), boxes[i].Title);
            for (var j = i + 1; j < boxes.Count; j++)
            {
                var (a, b) = (boxes[i], boxes[j]);
                if (a.X < b.X + b.W && b.X < a.X + a.W && a.Y < b.Y + b.H && b.Y < a.Y + a.H)
                {
                    overlaps.Add($"{a.Title} / {b.Title}");
                }
            }
        }
        Assert.That(overlaps, Is.Empty);
    }

    [TestCaseSource(nameof(Dashboards))]
    public void Every_panel_and_query_uses_the_provisioned_datasource_and_every_data_panel_has_a_unit(Dashboard dashboard)
    {
        var uid = ProvisionedDatasourceUid();
        Assert.Multiple(() =>
        {
            foreach (var panel in dashboard.Panels().Where(p => p.GetProperty("type").GetString() is not ("row" or "text" or "alertlist")))
            {
                var title = panel.GetProperty("title").GetString();
                Assert.That(panel.GetProperty("datasource").GetProperty("uid").GetString(), Is.EqualTo(uid), title);
                foreach (var target in panel.GetProperty("targets").EnumerateArray())
                {
                    Assert.That(target.GetProperty("datasource").GetProperty("uid").GetString(), Is.EqualTo(uid), title);
                }
                var hasUnit = panel.TryGetProperty("fieldConfig", out var config) && config.GetProperty("defaults").TryGetProperty("unit", out var unit) && unit.GetString() is { Length: > 0 };
                Assert.That(hasUnit, Is.True, $"{dashboard.File}: panel '{title}' has no unit");
            }
        });
    }

    [Test]
    public async Task No_query_reads_a_vigie_metric_the_app_does_not_export()
    {
        var registry = global::Prometheus.Metrics.NewCustomRegistry();
        _ = new HttpInstruments(registry);
        _ = new VigieMetrics(registry);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        var exported = TypeLine().Matches(Encoding.UTF8.GetString(stream.ToArray()))
            .SelectMany(m => m.Groups[2].Value == "histogram"
                ? new[] { m.Groups[1].Value + "_bucket", m.Groups[1].Value + "_sum", m.Groups[1].Value + "_count" }
                : [m.Groups[1].Value])
            .ToHashSet();
        // The backup metrics come from the backups' metrics file (node-exporter's textfile collector), not from the app.
        var backups = Directory.CreateTempSubdirectory("vigie-backup-metrics-").FullName;
        try
        {
            Vigie.Stack.Backups.WriteMetrics(backups, new Vigie.Stack.BackupFile("vigie.dump", 1, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(1)), TimeSpan.FromHours(1));
            exported.UnionWith(TypeLine().Matches(await File.ReadAllTextAsync(Path.Combine(backups, "metrics", Vigie.Stack.Backups.MetricsFile))).Select(m => m.Groups[1].Value));
        }
        finally
        {
            Directory.Delete(backups, recursive: true);
        }
        var unknown = Dashboard.All().SelectMany(d => d.Expressions().SelectMany(e => Dashboard.MetricNames(e.Expression).Select(n => (d.File, e.Panel, Name: n))))
            .Where(x => x.Name.StartsWith("vigie_", StringComparison.Ordinal) && !exported.Contains(x.Name))
            .ToList();
        Assert.That(unknown, Is.Empty);
    }

    [Test]
    public void The_metric_name_extractor_finds_metrics_and_skips_functions_labels_and_strings()
    {
        var names = Dashboard.MetricNames("sum by (route) (rate(vigie_http_requests_total{status=~\"5..\", route=~\"$route\"}[5m])) / on(route) group_left sum(up) or label_replace(vector(0), \"level\", \"error\", \"\", \"\")");
        Assert.That(names, Is.EquivalentTo(new[] { "vigie_http_requests_total", "up" }));
    }

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"\./grafana/provisioning:(/[^:""'\s]+):ro")]
    private static partial Regex ComposeGrafanaMount();
}

using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Rules;

/// <summary>The repository's Prometheus configuration, rules and rule unit tests, checked by the real promtool.</summary>
public sealed class PromtoolTests
{
    private static string PrometheusDirectory => Path.Combine(Infrastructure.RepositoryRoot, "prometheus");

    private static string Promtool()
    {
        var promtool = Executables.Find(Executables.Promtool);
        Infrastructure.Require(promtool is not null, "promtool is not installed (Debian package 'prometheus')");
        return promtool!;
    }

    public static IEnumerable<string> RuleTestFiles() =>
        Directory.GetFiles(Path.Combine(Infrastructure.RepositoryRoot, "prometheus", "rules", "tests"), "*.yml")
            .Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    [Test]
    public async Task The_compose_configuration_passes_promtool_check_config()
    {
        var result = await ProcessRunner.RunAsync(Promtool(), ["check", "config", "prometheus.yml"], PrometheusDirectory);
        Assert.That(result.ExitCode, Is.Zero, result.All);
        Assert.That(result.All, Does.Contain("SUCCESS"));
    }

    [Test]
    public async Task The_swarm_configuration_passes_promtool_check_config()
    {
        var result = await ProcessRunner.RunAsync(Promtool(), ["check", "config", "prometheus.swarm.yml"], PrometheusDirectory);
        Assert.That(result.ExitCode, Is.Zero, result.All);
        Assert.That(result.All, Does.Contain("SUCCESS"));
    }

    [Test]
    public async Task The_native_rewrite_of_the_configuration_passes_promtool_check_config()
    {
        var source = Path.Combine(PrometheusDirectory, "prometheus.yml");
        var yaml = await File.ReadAllTextAsync(source);
        var addresses = PrometheusConfig.ComposeAddresses(yaml).ToDictionary(a => a, _ => $"127.0.0.1:{FreePort.Next()}");
        var rewritten = PrometheusConfig.Rewrite(yaml, addresses, PrometheusDirectory, ["grafana"]);
        var path = Path.Combine(Path.GetTempPath(), $"vigie-prometheus-{Guid.NewGuid():N}.yml");
        await File.WriteAllTextAsync(path, rewritten);
        try
        {
            var result = await ProcessRunner.RunAsync(Promtool(), ["check", "config", path]);
            Assert.Multiple(() =>
            {
                Assert.That(result.ExitCode, Is.Zero, result.All);
                Assert.That(PrometheusConfig.ComposeAddresses(rewritten), Is.Empty, "no compose address is left after the rewrite");
                Assert.That(rewritten, Does.Not.Contain("grafana:3000"));
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task Every_rule_file_passes_promtool_check_rules()
    {
        var files = Directory.GetFiles(Path.Combine(PrometheusDirectory, "rules"), "*.yml");
        Assert.That(files, Is.Not.Empty);
        var result = await ProcessRunner.RunAsync(Promtool(), ["check", "rules", .. files]);
        Assert.That(result.ExitCode, Is.Zero, result.All);
    }

    [TestCaseSource(nameof(RuleTestFiles))]
    public async Task Rule_unit_tests_pass(string file)
    {
        var result = await ProcessRunner.RunAsync(Promtool(), ["test", "rules", file], Path.Combine(PrometheusDirectory, "rules", "tests"));
        Assert.That(result.ExitCode, Is.Zero, result.All);
        Assert.That(result.All, Does.Contain("SUCCESS"));
    }

    [Test]
    public async Task Every_alert_has_a_unit_test_that_expects_it_to_fire()
    {
        var alerts = System.Text.RegularExpressions.Regex.Matches(await File.ReadAllTextAsync(Path.Combine(PrometheusDirectory, "rules", "alerts.yml")), @"^\s*-\s*alert:\s*(\S+)", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToList();
        var tests = string.Concat(RuleTestFiles().Select(f => File.ReadAllText(Path.Combine(PrometheusDirectory, "rules", "tests", f))));
        Assert.That(alerts, Is.Not.Empty);
        Assert.That(alerts.Where(a => !tests.Contains($"alertname: {a}", StringComparison.Ordinal)), Is.Empty, "alerts without a promtool test");
    }
}

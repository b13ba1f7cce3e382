using System.Net.Http.Json;
using System.Text.Json;
using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Rules;

/// <summary>prometheus/alertmanager.yml: checked by amtool, its routing tree tested, and its inhibitions proven on a real Alertmanager.</summary>
public sealed class AlertmanagerConfigTests
{
    private static string ConfigPath => Path.Combine(Infrastructure.RepositoryRoot, "prometheus", "alertmanager.yml");

    private static string Tool(string[] names, string package)
    {
        var path = Executables.Find(names);
        Infrastructure.Require(path is not null, $"{names[0]} is not installed (package '{package}')");
        return path!;
    }

    [Test]
    public async Task The_configuration_passes_amtool_check_config()
    {
        var result = await ProcessRunner.RunAsync(Tool(Executables.Amtool, "prometheus-alertmanager"), ["check-config", ConfigPath]);
        Assert.That(result.ExitCode, Is.Zero, result.All);
        Assert.That(result.All, Does.Contain("SUCCESS").And.Contain("3 inhibit rules"));
    }

    [TestCase("severity=critical alertname=VigieDatabaseDown", "vigie-inbox-critical")]
    [TestCase("severity=critical alertname=VigieTargetDown job=vigie-web", "vigie-inbox-critical")]
    [TestCase("severity=warning alertname=VigieFeatureDrift", "vigie-inbox-warning")]
    [TestCase("severity=warning alertname=HostLowMemory", "vigie-inbox-warning")]
    [TestCase("severity=info alertname=Something", "vigie-inbox")]
    [TestCase("alertname=NoSeverity", "vigie-inbox")]
    public async Task Each_severity_is_routed_to_its_receiver(string labels, string receiver)
    {
        var result = await ProcessRunner.RunAsync(Tool(Executables.Amtool, "prometheus-alertmanager"),
            ["config", "routes", "test", $"--config.file={ConfigPath}", $"--verify.receivers={receiver}", .. labels.Split(' ')]);
        Assert.That(result.ExitCode, Is.Zero, result.All);
        Assert.That(result.Output.Trim(), Is.EqualTo(receiver));
    }

    [Test]
    public void Critical_alerts_repeat_more_often_than_warnings()
    {
        var yaml = File.ReadAllText(ConfigPath);
        var critical = yaml[yaml.IndexOf("severity=\"critical\"", StringComparison.Ordinal)..];
        var warning = yaml[yaml.IndexOf("severity=\"warning\"", StringComparison.Ordinal)..];
        static TimeSpan Repeat(string section)
        {
            var value = System.Text.RegularExpressions.Regex.Match(section, @"repeat_interval:\s*(\d+)h").Groups[1].Value;
            return TimeSpan.FromHours(int.Parse(value, System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.That(Repeat(critical), Is.LessThan(Repeat(warning)));
    }

    public static IEnumerable<TestCaseData> Inhibitions()
    {
        var dbDown = new Dictionary<string, string> { ["alertname"] = "VigieDatabaseDown", ["severity"] = "critical", ["job"] = "vigie-web", ["instance"] = "web:8081" };
        var webDown = new Dictionary<string, string> { ["alertname"] = "VigieTargetDown", ["severity"] = "critical", ["job"] = "vigie-web", ["instance"] = "web:8081" };
        Dictionary<string, string> Alert(string name, string job, string? instance = null, string severity = "warning")
        {
            var labels = new Dictionary<string, string> { ["alertname"] = name, ["severity"] = severity, ["job"] = job };
            if (instance is not null)
            {
                labels["instance"] = instance;
            }
            return labels;
        }
        yield return new TestCaseData(dbDown, Alert("VigieErrorBudgetBurnFast", "vigie-web", severity: "critical"), true).SetName("Database down silences the fast burn alert");
        yield return new TestCaseData(dbDown, Alert("VigieErrorBudgetBurnSlow", "vigie-web"), true).SetName("Database down silences the slow burn alert");
        yield return new TestCaseData(dbDown, Alert("VigieHighLatencyP95", "vigie-web"), true).SetName("Database down silences the latency alert");
        yield return new TestCaseData(dbDown, Alert("VigieErrorLogs", "vigie-web", "web:8081"), true).SetName("Database down silences the error-log alert");
        yield return new TestCaseData(dbDown, Alert("VigieErrorBudgetBurnFast", "other-app", severity: "critical"), false).SetName("Database down of one job does not silence another job");
        yield return new TestCaseData(dbDown, Alert("HostLowMemory", "node-exporter"), false).SetName("Database down does not silence host alerts");
        // The inbox answers 503 on purpose during the outage (Alertmanager resends later): failed deliveries are expected then.
        yield return new TestCaseData(dbDown, Alert("AlertmanagerNotificationsFailing", "alertmanager", "alertmanager:9093"), true).SetName("Database down silences failed notifications to the inbox");
        yield return new TestCaseData(webDown, Alert("AlertmanagerNotificationsFailing", "alertmanager", "alertmanager:9093"), false).SetName("Web target down does not silence failed notifications");
        yield return new TestCaseData(webDown, Alert("ProbeFailing", "blackbox", "http://web:8080/health/ready", "critical"), true).SetName("Web target down silences the web probe");
        yield return new TestCaseData(webDown, Alert("ProbeFailing", "blackbox", "http://grafana:3000/api/health", "critical"), false).SetName("Web target down does not silence the Grafana probe");
    }

    [TestCaseSource(nameof(Inhibitions))]
    public async Task Inhibition_rules_hold_on_a_real_Alertmanager(Dictionary<string, string> source, Dictionary<string, string> target, bool inhibited)
    {
        var binary = Tool(Executables.Alertmanager, "prometheus-alertmanager");
        var state = Directory.CreateTempSubdirectory("vigie-am-").FullName;
        var port = FreePort.Next();
        var token = Path.Combine(state, "token");
        await File.WriteAllTextAsync(token, "t");
        // Addresses and waits only: the webhook points at a closed local port, the token at a temporary file.
        var yaml = PrometheusConfig.Rewrite(
            (await File.ReadAllTextAsync(ConfigPath)).Replace("/run/secrets/alertmanager_token", token, StringComparison.Ordinal),
            new Dictionary<string, string> { ["web:8080"] = $"127.0.0.1:{FreePort.Next()}" }, state);
        await File.WriteAllTextAsync(Path.Combine(state, "alertmanager.yml"), yaml);
        var process = ManagedProcess.Start("alertmanager", binary,
            [$"--config.file={Path.Combine(state, "alertmanager.yml")}", $"--storage.path={Path.Combine(state, "data")}", $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            Path.Combine(state, "alertmanager.log"));
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await WaitReadyAsync(http, process);
            var startsAt = DateTimeOffset.UtcNow.AddMinutes(-1);
            using var posted = await http.PostAsJsonAsync("/api/v2/alerts", new[]
            {
                new { labels = source, annotations = new Dictionary<string, string>(), startsAt },
                new { labels = target, annotations = new Dictionary<string, string>(), startsAt },
            });
            Assert.That(posted.IsSuccessStatusCode, Is.True, await posted.Content.ReadAsStringAsync());

            var state0 = await SettledStateAsync(http, target["alertname"], target["job"], inhibited);
            Assert.That(state0.InhibitedBy, inhibited ? Is.Not.Empty : Is.Empty, $"state {state0.State}");
            Assert.That(state0.State, Is.EqualTo(inhibited ? "suppressed" : "active"));
        }
        finally
        {
            process.Dispose();
            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>
    /// Alertmanager's inhibitor learns of the source alert through its own subscription, a moment after the POST: the
    /// target is watched until it is suppressed (up to 10 s) or, when it must stay active, for 2 s in which it must
    /// not become suppressed.
    /// </summary>
    private static async Task<(string State, IReadOnlyList<string> InhibitedBy)> SettledStateAsync(HttpClient http, string alertname, string job, bool expectSuppressed)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var window = TimeSpan.FromSeconds(expectSuppressed ? 10 : 2);
        while (true)
        {
            var state = await TargetStateAsync(http, alertname, job);
            if (state.State == "suppressed" || watch.Elapsed > window)
            {
                return state;
            }
            await Task.Delay(100);
        }
    }

    private static async Task<(string State, IReadOnlyList<string> InhibitedBy)> TargetStateAsync(HttpClient http, string alertname, string job)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var alerts = await http.GetFromJsonAsync<JsonElement>("/api/v2/alerts");
            var match = alerts.EnumerateArray().FirstOrDefault(a =>
                a.GetProperty("labels").GetProperty("alertname").GetString() == alertname && a.GetProperty("labels").GetProperty("job").GetString() == job);
            if (match.ValueKind == JsonValueKind.Object)
            {
                var status = match.GetProperty("status");
                return (status.GetProperty("state").GetString()!, status.GetProperty("inhibitedBy").EnumerateArray().Select(e => e.GetString()!).ToList());
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{alertname} never appeared in Alertmanager");
            }
            await Task.Delay(200);
        }
    }

    private static async Task WaitReadyAsync(HttpClient http, ManagedProcess process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                Assert.Fail("Alertmanager exited: " + process.Tail());
            }
            try
            {
                using var ready = await http.GetAsync(new Uri("/-/ready", UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        Assert.Fail("Alertmanager did not become ready: " + process.Tail());
    }
}

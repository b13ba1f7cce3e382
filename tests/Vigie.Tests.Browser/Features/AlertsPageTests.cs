using System.Globalization;
using Microsoft.Playwright;
using Vigie.Stack;
using Vigie.Testing;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser.Features;

/// <summary>
/// Pending alerts live in Prometheus only (Alertmanager hears of an alert once it fires): the Alerts page reads them
/// from a real Prometheus, here one evaluating a rule whose condition holds but not yet for its <c>for:</c> hour.
/// </summary>
public sealed class AlertsPageTests : BrowserTest
{
    private const string Rules = """
        groups:
          - name: browser-test
            rules:
              - alert: VigieBrowserPending
                expr: vector(1)
                for: 1h
                labels: { severity: warning }
                annotations: { summary: "A condition that holds, not yet for an hour" }
        """;

    [Test]
    public async Task Pending_alerts_from_Prometheus_are_listed_apart_from_the_firing_ones()
    {
        var prometheusPath = Executables.Find(Executables.Prometheus);
        Infrastructure.Require(prometheusPath is not null, "Prometheus is not installed (Debian package 'prometheus')");
        var directory = Directory.CreateTempSubdirectory("vigie-browser-prometheus-").FullName;
        await File.WriteAllTextAsync(Path.Combine(directory, "rules.yml"), Rules);
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n");
        var port = FreePort.Next();
        var prometheusUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        var prometheus = ManagedProcess.Start("prometheus", prometheusPath!,
            [$"--config.file={Path.Combine(directory, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(directory, "data")}", $"--web.listen-address=127.0.0.1:{port}"],
            Path.Combine(directory, "prometheus.log"));
        try
        {
            await WaitUntilPendingAsync(prometheusUrl);

            await using var app = await KestrelApp.StartAsync(BrowserSession.Database.ConnectionString, new Dictionary<string, string> { ["Alerts:PrometheusUrl"] = prometheusUrl });
            await UseAppAsync(app.BaseUrl);

            await OpenAsync("/Alerts");
            var pending = Page.GetByTestId("pending-alerts");
            await Expect(pending.GetByRole(AriaRole.Heading)).ToHaveTextAsync("Pending (1)");
            var alert = pending.GetByTestId("pending-alert");
            await Expect(alert).ToHaveAttributeAsync("data-alertname", "VigieBrowserPending");
            await Expect(alert).ToContainTextAsync("pending");
            await Expect(alert).ToContainTextAsync("A condition that holds, not yet for an hour");
            await Expect(Page.GetByTestId("firing-alerts").GetByTestId("firing-alert").Filter(new() { HasText = "VigieBrowserPending" })).ToHaveCountAsync(0);
            await Screenshots.CaptureAsync(Page, "alerts-pending");
        }
        finally
        {
            prometheus.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task Without_a_Prometheus_address_the_page_says_pending_alerts_are_not_available()
    {
        await OpenAsync("/Alerts");
        await Expect(Page.GetByTestId("pending-unavailable")).ToContainTextAsync("Alerts__PrometheusUrl");
        await Screenshots.CaptureAsync(Page, "alerts");
    }

    private static async Task WaitUntilPendingAsync(string prometheusUrl)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await http.GetStringAsync(new Uri(prometheusUrl + "/api/v1/alerts"))).Contains("\"state\":\"pending\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "Prometheus never reported the rule as pending");
            await Task.Delay(250);
        }
    }
}

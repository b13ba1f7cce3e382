namespace Vigie.Tests.Reliability;

/// <summary>
/// The native stack without a Grafana package: the status strip says so instead of a dead link. An app of its own
/// (the setting is read at start), so it lives beside the other isolated apps, outside the shared app's namespace whose
/// log file it would otherwise take over (NLog's configuration is process-wide).
/// </summary>
public sealed class StatusStripWithoutGrafanaTests
{
    [Test]
    public async Task Where_Grafana_is_not_installed_the_strip_says_so_and_links_nowhere()
    {
        await using var app = await IsolatedApp.StartAsync(new Dictionary<string, string> { ["Links:GrafanaInstalled"] = "false" });
        using var client = app.NewClient();
        var home = await client.GetStringAsync(new Uri("/", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(home, Does.Contain("<span class=\"link-unavailable\" data-testid=\"grafana-unavailable\">Grafana: not installed here</span>"));
            Assert.That(home, Does.Not.Contain(">Grafana</a>"), "no dead link");
            Assert.That(home, Does.Match("<a href=\"[^\"]+\" rel=\"noopener\">Prometheus</a>"), "Prometheus is still linked");
        });
    }
}

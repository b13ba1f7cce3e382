using Vigie.Testing;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Features.Status;

/// <summary>The status strip links to Grafana only where one runs: elsewhere (the native stack without a Grafana package) it says so.</summary>
public sealed class StatusStripGrafanaTests
{
    [Test]
    public async Task Where_Grafana_is_installed_the_strip_links_to_it()
    {
        using var client = NewClient();
        var home = await client.GetStringAsync(new Uri("/", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(home, Does.Match("<a href=\"[^\"]+\" rel=\"noopener\">Grafana</a>"));
            Assert.That(home, Does.Not.Contain("not installed here"));
        });
    }

    [Test]
    public async Task Where_Grafana_is_not_installed_the_strip_says_so_and_links_nowhere()
    {
        await using var app = new VigieAppFactory(Database.ConnectionString, new Dictionary<string, string> { ["Links:GrafanaInstalled"] = "false" });
        await app.WaitUntilReadyAsync();
        using var client = app.CreateClient();
        var home = await client.GetStringAsync(new Uri("/", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(home, Does.Contain("<span class=\"link-unavailable\" data-testid=\"grafana-unavailable\">Grafana: not installed here</span>"));
            Assert.That(home, Does.Not.Contain(">Grafana</a>"), "no dead link");
            Assert.That(home, Does.Match("<a href=\"[^\"]+\" rel=\"noopener\">Prometheus</a>"), "Prometheus is still linked");
        });
    }
}

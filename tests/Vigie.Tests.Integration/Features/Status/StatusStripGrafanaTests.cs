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
}

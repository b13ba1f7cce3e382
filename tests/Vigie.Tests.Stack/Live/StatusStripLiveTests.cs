using static Vigie.Tests.Stack.Live.LiveStack;

namespace Vigie.Tests.Stack.Live;

/// <summary>The native stack tells its app whether it runs Grafana, so the status strip never links to an address nothing answers.</summary>
public sealed class StatusStripLiveTests
{
    [Test]
    public async Task The_status_strip_shows_Grafana_as_the_native_stack_runs_it()
    {
        using var http = new HttpClient { BaseAddress = Native.WebUrl, Timeout = TimeSpan.FromSeconds(10) };
        var home = await http.GetStringAsync(new Uri("/", UriKind.Relative));

        if (Native.HasGrafana)
        {
            Assert.That(home, Does.Contain($"<a href=\"{Native.GrafanaUrl.ToString().TrimEnd('/')}\" rel=\"noopener\">Grafana</a>"));
        }
        else
        {
            Assert.Multiple(() =>
            {
                Assert.That(home, Does.Contain("Grafana: not installed here"));
                Assert.That(home, Does.Not.Contain(">Grafana</a>"));
            });
        }
    }
}

using System.Net;
using System.Text.RegularExpressions;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Features.Runbook;

/// <summary>
/// The runbooks the alerts link to are served by the app itself at /Runbook, rendered from the prometheus/RUNBOOK.md it
/// was built with: every alert rule's link must land on a section of that page, offline.
/// </summary>
public sealed partial class RunbookPageTests
{
    private static string Repository(params string[] path) => Path.Combine([Vigie.Testing.Infrastructure.RepositoryRoot, .. path]);

    [Test]
    public async Task The_page_renders_every_section_of_the_runbook()
    {
        using var client = NewClient();
        using var response = await client.GetAsync(new Uri("/Runbook", UriKind.Relative));
        var page = await response.Content.ReadAsStringAsync();
        var headings = SectionHeading().Matches(await File.ReadAllTextAsync(Repository("prometheus", "RUNBOOK.md"))).Select(m => m.Groups[1].Value).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(headings, Is.Not.Empty);
            foreach (var heading in headings)
            {
                Assert.That(page, Does.Contain($"<h2 id=\"{heading.ToLowerInvariant()}\">{heading}</h2>"), heading);
                Assert.That(page, Does.Contain($"<a href=\"#{heading.ToLowerInvariant()}\">{heading}</a>"), "the table of contents links " + heading);
            }
            Assert.That(page, Does.Contain("<pre><code class=\"language-sh\">dotnet cake --target=Status"), "code blocks are rendered");
        });
    }

    [Test]
    public async Task Every_alert_rules_runbook_link_resolves_to_an_anchor_of_the_served_page()
    {
        var rules = await File.ReadAllTextAsync(Repository("prometheus", "rules", "alerts.yml"));
        var alerts = AlertRule().Matches(rules).Select(m => m.Groups[1].Value).ToList();
        var links = RunbookUrl().Matches(rules).Select(m => m.Groups[1].Value).ToList();
        using var client = NewClient();
        var page = await client.GetStringAsync(new Uri("/Runbook", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(links, Has.Count.EqualTo(alerts.Count).And.Count.GreaterThan(0), "one runbook link per alert");
            foreach (var link in links)
            {
                Assert.That(link, Does.StartWith("/Runbook#"), "served by the app");
                Assert.That(page, Does.Contain($"id=\"{link[(link.IndexOf('#') + 1)..]}\""), link);
            }
            Assert.That(alerts.Select(a => $"/Runbook#{a.ToLowerInvariant()}"), Is.EquivalentTo(links), "each alert links its own section");
        });
    }

    [Test]
    public void No_link_points_at_the_repository_that_does_not_exist()
    {
        string[] ignored = ["bin", "obj", "node_modules", ".git", ".state", "artifacts", "logs"];
        var files = new[] { "prometheus", "grafana", "src", "tests" }
            .SelectMany(dir => Directory.EnumerateFiles(Repository(dir), "*", SearchOption.AllDirectories))
            .Append(Repository("README.md"))
            .Where(f => !Path.GetRelativePath(Vigie.Testing.Infrastructure.RepositoryRoot, f).Split(Path.DirectorySeparatorChar).Any(ignored.Contains));
        // Split so this file does not hold the address it looks for.
        var offending = files.Where(f => File.ReadAllText(f).Contains("github.com/" + "vigie/", StringComparison.OrdinalIgnoreCase))
            .Select(f => Path.GetRelativePath(Vigie.Testing.Infrastructure.RepositoryRoot, f)).ToList();
        Assert.That(offending, Is.Empty);
    }

    [GeneratedRegex(@"^## (\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex SectionHeading();

    [GeneratedRegex(@"^\s*- alert: (\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex AlertRule();

    [GeneratedRegex(@"^\s*runbook_url: ""([^""]*)""", RegexOptions.Multiline)]
    private static partial Regex RunbookUrl();
}

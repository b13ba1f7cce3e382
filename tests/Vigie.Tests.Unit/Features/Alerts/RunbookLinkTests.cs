using Vigie.Web.Features.Alerts;

namespace Vigie.Tests.Unit.Features.Alerts;

/// <summary>The Alerts page links an alert's runbook: the app's own /Runbook page (what the rules send) or an http(s) URL, nothing else.</summary>
public sealed class RunbookLinkTests
{
    private static AlertNotification WithRunbook(string? url) =>
        new("abc", "firing", "VigieDatabaseDown", "critical", null, null, url, DateTimeOffset.UnixEpoch, null,
            new Dictionary<string, string>(), new Dictionary<string, string>(), "vigie", DateTimeOffset.UnixEpoch);

    [TestCase("/Runbook#vigiedatabasedown", "/Runbook#vigiedatabasedown", TestName = "A path of the app is linked as it is")]
    [TestCase("https://wiki.example.org/runbooks#db", "https://wiki.example.org/runbooks#db", TestName = "An https URL is linked")]
    [TestCase("//evil.example/runbook", null, TestName = "A protocol-relative URL is not linked")]
    [TestCase("/\\evil.example/runbook", null, TestName = "A backslash path browsers read as another host is not linked")]
    [TestCase("javascript:alert(1)", null, TestName = "A javascript URL is not linked")]
    [TestCase("Runbook#db", null, TestName = "A relative path without its leading slash is not linked")]
    [TestCase(null, null, TestName = "No runbook, no link")]
    public void Runbook_link(string? annotation, string? expected) =>
        Assert.That(WithRunbook(annotation).RunbookLink, Is.EqualTo(expected));
}

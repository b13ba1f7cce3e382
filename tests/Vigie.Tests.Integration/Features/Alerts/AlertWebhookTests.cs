using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Vigie.Testing;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Features.Alerts;

public sealed class AlertWebhookTests
{
    private static string Payload(string fingerprint, string status, string alertname = "VigieDatabaseDown", string severity = "critical", string version = "4", DateTimeOffset? startsAt = null) =>
        JsonSerializer.Serialize(new
        {
            version,
            groupKey = "{}:{alertname=\"" + alertname + "\"}",
            truncatedAlerts = 0,
            status,
            receiver = "vigie-inbox-critical",
            groupLabels = new { alertname },
            commonLabels = new { alertname, severity },
            commonAnnotations = new { },
            externalURL = "http://alertmanager:9093",
            alerts = new[]
            {
                new
                {
                    status,
                    labels = new Dictionary<string, string> { ["alertname"] = alertname, ["severity"] = severity, ["job"] = "vigie-web" },
                    annotations = new Dictionary<string, string>
                    {
                        ["summary"] = "The database <b>is</b> unreachable",
                        ["runbook_url"] = "/Runbook#vigiedatabasedown",
                    },
                    startsAt = (startsAt ?? new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero)).ToString("o"),
                    endsAt = status == "resolved" ? "2026-11-26T10:05:00Z" : "0001-01-01T00:00:00Z",
                    generatorURL = "http://prometheus:9090/graph",
                    fingerprint,
                },
            },
        });

    private static async Task<HttpResponseMessage> PostAsync(string body, string? token = VigieAppFactory.AlertmanagerToken, string contentType = "application/json")
    {
        using var client = NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/alerts") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await client.SendAsync(request);
    }

    private static Task<long> StoredAsync(string fingerprint) =>
        Database.ScalarAsync<long>("SELECT count(*) FROM alert_notifications WHERE fingerprint = @f", ("f", fingerprint));

    private static async Task<long> EventuallyStoredAsync(string fingerprint, long expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        long stored;
        while ((stored = await StoredAsync(fingerprint)) < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        return stored;
    }

    [Test]
    public async Task A_firing_then_resolved_alert_is_stored_once_per_status_and_shown_then_cleared()
    {
        var fingerprint = Guid.NewGuid().ToString("N")[..16];
        using var firing = await PostAsync(Payload(fingerprint, "firing"));
        using var resent = await PostAsync(Payload(fingerprint, "firing"));
        Assert.That(await EventuallyStoredAsync(fingerprint, 1), Is.EqualTo(1));

        using var client = NewClient();
        var page = await client.GetStringAsync(new Uri("/Alerts", UriKind.Relative));
        var home = await client.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.Multiple(() =>
        {
            Assert.That(home, Does.Match("<a href=\"/Alerts\" class=\"alerts-critical\">\\s*[0-9]+ alerts? firing</a>"), "the status strip counts firing alerts and links to them");
            Assert.That(firing.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(resent.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(page, Does.Contain($"data-alertname=\"VigieDatabaseDown\" data-fingerprint=\"{fingerprint}\""));
            Assert.That(page, Does.Contain("The database &lt;b&gt;is&lt;/b&gt; unreachable"), "annotations are encoded");
            Assert.That(page, Does.Contain("href=\"/Runbook#vigiedatabasedown\""), "the rules' runbook links are paths of the app");
        });

        using var resolved = await PostAsync(Payload(fingerprint, "resolved"));
        Assert.That(await EventuallyStoredAsync(fingerprint, 2), Is.EqualTo(2));
        using var resolvedAgain = await PostAsync(Payload(fingerprint, "resolved"));
        await Task.Delay(500);
        var after = await client.GetStringAsync(new Uri("/Alerts", UriKind.Relative));
        Assert.Multiple(async () =>
        {
            Assert.That(await StoredAsync(fingerprint), Is.EqualTo(2), "resent notifications are not duplicated");
            Assert.That(after, Does.Not.Contain($"data-fingerprint=\"{fingerprint}\""), "a resolved alert leaves the firing list");
            Assert.That(await Database.ScalarAsync<long>("SELECT count(*) FROM firing_alerts WHERE fingerprint = @f", ("f", fingerprint)), Is.Zero);
        });
    }

    public static IEnumerable<TestCaseData> BadDeliveries()
    {
        yield return new TestCaseData(null, "application/json", null, 401).SetName("No token");
        yield return new TestCaseData("wrong-token", "application/json", null, 401).SetName("Wrong token");
        yield return new TestCaseData(VigieAppFactory.AlertmanagerToken + "x", "application/json", null, 401).SetName("Token with a suffix");
        yield return new TestCaseData(VigieAppFactory.AlertmanagerToken, "application/json", "{\"version\":\"4\",", 400).SetName("Malformed JSON");
        yield return new TestCaseData(VigieAppFactory.AlertmanagerToken, "application/json", "version3", 400).SetName("Wrong version");
        yield return new TestCaseData(VigieAppFactory.AlertmanagerToken, "application/json", "{\"version\":\"4\",\"alerts\":[]}", 400).SetName("No alert");
        yield return new TestCaseData(VigieAppFactory.AlertmanagerToken, "application/json", "no-fingerprint", 400).SetName("Alert without fingerprint");
        yield return new TestCaseData(VigieAppFactory.AlertmanagerToken, "application/json", "nul-label", 400).SetName("NUL character in a label, which PostgreSQL cannot store");
        yield return new TestCaseData(VigieAppFactory.AlertmanagerToken, "text/plain", null, 415).SetName("Wrong content type");
        yield return new TestCaseData(VigieAppFactory.AlertmanagerToken, "application/json", "oversize", 413).SetName("Oversize body");
    }

    [TestCaseSource(nameof(BadDeliveries))]
    public async Task Bad_deliveries_answer_4xx_problem_json_and_store_nothing(string? token, string contentType, string? body, int status)
    {
        var fingerprint = Guid.NewGuid().ToString("N")[..16];
        var before = await Database.ScalarAsync<long>("SELECT count(*) FROM alert_notifications");
        var payload = body switch
        {
            null => Payload(fingerprint, "firing"),
            "version3" => Payload(fingerprint, "firing", version: "3"),
            "no-fingerprint" => Payload("", "firing"),
            "nul-label" => Payload(fingerprint, "firing", alertname: "VigieDatabase\0Down"),
            "oversize" => Payload(fingerprint, "firing").Replace("\"The database", "\"" + new string('x', 1_100_000), StringComparison.Ordinal),
            _ => body,
        };
        using var response = await PostAsync(payload, token, contentType);
        await Task.Delay(300);
        Assert.Multiple(async () =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(status));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(await Database.ScalarAsync<long>("SELECT count(*) FROM alert_notifications"), Is.EqualTo(before));
            Assert.That(await StoredAsync(fingerprint), Is.Zero);
        });
        if (status == 401)
        {
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        }
    }

    [Test]
    public async Task Firing_alerts_are_listed_most_severe_first()
    {
        var warning = Guid.NewGuid().ToString("N")[..16];
        var critical = Guid.NewGuid().ToString("N")[..16];
        using var w = await PostAsync(Payload(warning, "firing", "VigieFeatureDrift", "warning"));
        using var c = await PostAsync(Payload(critical, "firing", "VigieTargetDown", "critical"));
        using var client = NewClient();
        var firing = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/alerts", UriKind.Relative))).RootElement.EnumerateArray()
            .Where(a => a.GetProperty("fingerprint").GetString() is { } f && (f == warning || f == critical))
            .Select(a => a.GetProperty("severity").GetString()).ToList();
        Assert.That(firing, Is.EqualTo(new[] { "critical", "warning" }));

        foreach (var (fingerprint, name, severity) in new[] { (warning, "VigieFeatureDrift", "warning"), (critical, "VigieTargetDown", "critical") })
        {
            using var resolved = await PostAsync(Payload(fingerprint, "resolved", name, severity));
        }
    }
}

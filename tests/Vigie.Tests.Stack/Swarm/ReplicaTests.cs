using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vigie.Tests.Stack.Swarm;

/// <summary>
/// What the replicas share and how they are watched: a form issued by one replica is accepted by another (the Data
/// Protection key ring is in PostgreSQL), and Prometheus scrapes every replica on its own and sends to both
/// Alertmanagers, which form one cluster.
/// </summary>
[Order(1)]
public sealed partial class ReplicaTests
{
    private static SwarmStack Stack => SwarmStackSetUp.Stack;

    [Test]
    public async Task A_form_rendered_by_one_replica_is_accepted_when_posted_to_another()
    {
        var crossed = 0;
        var outcomes = new List<string>();
        for (var attempt = 0; attempt < 12 && crossed < 3; attempt++)
        {
            using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
            {
                BaseAddress = Stack.Url,
                Timeout = TimeSpan.FromSeconds(30),
            };
            using var form = await http.GetAsync(new Uri("/", UriKind.Relative));
            var rendered = Replica(form);
            var token = AntiforgeryToken().Match(await form.Content.ReadAsStringAsync()).Groups[1].Value;
            using var posted = await http.PostAsync(new Uri("/", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = token,
                ["Input.BillLengthMm"] = "46.1",
                ["Input.BillDepthMm"] = "13.2",
                ["Input.FlipperLengthMm"] = "211",
                ["Input.BodyMassG"] = "4500",
            }));
            var checkedBy = Replica(posted);
            outcomes.Add($"{rendered}->{checkedBy} {(int)posted.StatusCode}");
            if (rendered != checkedBy)
            {
                crossed++;
                Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "a form rendered by " + rendered + " and posted to " + checkedBy + ": " + string.Join(", ", outcomes));
                Assert.That(posted.Headers.Location?.ToString(), Does.StartWith("/Predictions/"));
            }
        }
        TestContext.Out.WriteLine(string.Join(", ", outcomes));
        Assert.That(crossed, Is.GreaterThan(0), "the load balancer never sent the post to another replica than the form: " + string.Join(", ", outcomes));
    }

    [Test]
    public async Task Prometheus_scrapes_each_replica_as_its_own_target_and_alerts_both_alertmanagers()
    {
        // Found by DNS: a replica is a target within a refresh (5 s) of its task running; Alertmanager re-resolves its
        // peers every 15 s (a peer not yet in DNS when it started joins then).
        var web = new List<string?>();
        int active = 0, peers = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1.5);
        while ((web.Count != SwarmStack.Replicas || active != 2 || peers != 2) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromSeconds(web.Count == 0 ? 0 : 2));
            var targets = await SwarmStack.GetInsideAsync("prometheus", "http://127.0.0.1:9090/api/v1/targets?state=active");
            web = JsonDocument.Parse(targets).RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                .Where(t => t.GetProperty("labels").GetProperty("job").GetString() == "vigie-web" && t.GetProperty("health").GetString() == "up")
                .Select(t => t.GetProperty("labels").GetProperty("instance").GetString())
                .Distinct()
                .ToList();
            var alertmanagers = await SwarmStack.GetInsideAsync("prometheus", "http://127.0.0.1:9090/api/v1/alertmanagers");
            active = JsonDocument.Parse(alertmanagers).RootElement.GetProperty("data").GetProperty("activeAlertmanagers").GetArrayLength();
            var status = await SwarmStack.GetInsideAsync("alertmanager", "http://127.0.0.1:9093/api/v2/status");
            peers = JsonDocument.Parse(status).RootElement.GetProperty("cluster").GetProperty("peers").GetArrayLength();
        }
        Assert.Multiple(() =>
        {
            Assert.That(web, Has.Count.EqualTo(SwarmStack.Replicas), "one vigie-web target up per replica: " + string.Join(", ", web));
            Assert.That(active, Is.EqualTo(2), "Prometheus sends its alerts to both Alertmanagers");
            Assert.That(peers, Is.EqualTo(2), "the two Alertmanagers form one gossip cluster");
        });
    }

    private static string Replica(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Vigie-Replica", out var values) ? values.Single() : "?";

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();
}

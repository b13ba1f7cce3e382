using System.Diagnostics;
using System.Globalization;

namespace Vigie.Tests.Reliability;

/// <summary>
/// Slow clients against real Kestrel with the app's limits (VigieDefaults.ConfigureLimits): headers must be
/// complete within 10 s (RequestHeadersTimeout) and a body must arrive at 240 bytes/s or more after a 5 s grace period
/// (MinRequestBodyDataRate). A client that trickles is cut off, and does not keep others from being served.
/// </summary>
[NonParallelizable]
public sealed class SlowClientTests : KestrelAppFixture
{
    private static readonly TimeSpan HeadersTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan BodyGrace = TimeSpan.FromSeconds(5);
    // Kestrel checks its timeouts on a 1 s heartbeat.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(4);


    [Test]
    public async Task Clients_sending_their_headers_byte_by_byte_are_cut_off_at_the_headers_timeout_while_others_are_served()
    {
        var port = App.Port!.Value;
        // Twenty slow connections, one byte every 300 ms: the headers would take over a minute to arrive.
        var slowHead = $"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {new string('a', 200)}\r\n\r\n";
        var slow = Enumerable.Range(0, 20)
            .Select(_ => RawHttp.SendAsync(port, string.Empty, RawHttp.Trickle(slowHead, TimeSpan.FromMilliseconds(300)), TimeSpan.FromSeconds(40)))
            .ToList();

        await Task.Delay(TimeSpan.FromSeconds(2));
        var served = Stopwatch.StartNew();
        var normal = await RawHttp.SendAsync(port, $"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close", null, TimeSpan.FromSeconds(10));
        var normalTook = served.Elapsed;
        var answers = await Task.WhenAll(slow);

        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"slow clients cut off after {answers.Min(a => a.Elapsed.TotalSeconds):F1}–{answers.Max(a => a.Elapsed.TotalSeconds):F1} s, statuses {string.Join(",", answers.Select(a => a.Status).Distinct())}; a normal request took {normalTook.TotalMilliseconds:F0} ms"));
        Assert.Multiple(() =>
        {
            Assert.That(normal.Status, Is.EqualTo(200), "a normal client is served meanwhile");
            Assert.That(normalTook, Is.LessThan(TimeSpan.FromSeconds(2)));
            Assert.That(answers.Select(a => a.Status), Has.All.Not.EqualTo(200), "no slow request was processed");
            Assert.That(answers.Select(a => a.Status), Has.All.EqualTo(408).Or.EqualTo(0), "408 Request Timeout, or the connection closed");
            Assert.That(answers.Select(a => a.Elapsed), Has.All.InRange(HeadersTimeout - TimeSpan.FromSeconds(1), HeadersTimeout + Slack));
        });
    }

    [Test]
    public async Task A_client_trickling_its_body_is_cut_off_after_the_grace_period_and_nothing_is_stored()
    {
        var before = await App.CountAsync();
        const string body = "{\"billLengthMm\":39.1,\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}";
        // A declared length far beyond what is sent: the client promises a body and sends two bytes a second.
        var head = $"POST /api/predictions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {body.Length + 2000}";
        var answer = await RawHttp.SendAsync(App.Port!.Value, head, RawHttp.Trickle(body + new string(' ', 2000), TimeSpan.FromMilliseconds(500)), TimeSpan.FromSeconds(40));

        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trickled body cut off after {answer.Elapsed.TotalSeconds:F1} s with {answer.Status}"));
        Assert.Multiple(async () =>
        {
            Assert.That(answer.Status, Is.EqualTo(408).Or.EqualTo(0), "408 Request Timeout, or the connection closed");
            Assert.That(answer.Elapsed, Is.InRange(BodyGrace, BodyGrace + Slack));
            Assert.That(await App.CountAsync(), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task A_client_sending_its_body_at_a_normal_pace_in_pieces_is_served()
    {
        const string body = "{\"billLengthMm\":39.1,\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}";
        var head = $"POST /api/predictions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close";
        // Slow but not too slow: 80 bytes over about 2.4 s, inside the grace period.
        var answer = await RawHttp.SendAsync(App.Port!.Value, head, RawHttp.Trickle(body, TimeSpan.FromMilliseconds(30)), TimeSpan.FromSeconds(20));
        Assert.That(answer.Status, Is.EqualTo(201), answer.Body);
    }
}

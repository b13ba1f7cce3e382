using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;

namespace Vigie.Tests.Reliability;

/// <summary>
/// The HTTP metrics and the request-summary log record the status the client received, once per request, whatever
/// produced it: the exception handler turning a binding failure into a problem, a Kestrel limit, routing's 404 and 405,
/// a client hanging up, an outage, an error page re-executed through the pipeline. A client sending garbage must never
/// be counted as a server error: it would burn the error budget and page someone through the burn-rate alerts.
/// </summary>
[NonParallelizable]
public sealed partial class RecordedStatusTests
{
    private const string Measurements = "{\"billLengthMm\":39.1,\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}";
    private IsolatedApp _app = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _app = await IsolatedApp.StartAsync(kestrel: true);

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private HttpClient Client() => new(new SocketsHttpHandler { AllowAutoRedirect = false })
    {
        BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{_app.Port}")),
        Timeout = TimeSpan.FromSeconds(60),
    };

    private Task<(int Status, RecordedOutcome Recorded)> SendAsync(HttpMethod method, string path, HttpContent? content = null) =>
        RecordedOutcome.OfAsync(_app, async () =>
        {
            using var client = Client();
            using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
            using var response = await client.SendAsync(request);
            return (int)response.StatusCode;
        });

    [Test]
    public async Task Malformed_json_is_counted_and_logged_as_the_400_the_client_got()
    {
        var (status, recorded) = await SendAsync(HttpMethod.Post, "/api/predictions", new StringContent("{", Encoding.UTF8, "application/json"));
        Assert.That(status, Is.EqualTo(400));
        recorded.AssertCountedAndLoggedOnce("/api/predictions", "POST", status);
    }

    [Test]
    public async Task A_body_over_the_limit_is_counted_and_logged_as_the_413_the_client_got()
    {
        var (status, recorded) = await RecordedOutcome.OfAsync(_app, async () =>
        {
            var head = $"POST /api/predictions HTTP/1.1\r\nHost: 127.0.0.1:{_app.Port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked";
            var answer = await RawHttp.SendAsync(_app.Port!.Value, head,
                RawHttp.Chunked("{\"note\":\""u8.ToArray(), 6 * 1024 * 1024, (byte)'x', "\"}"u8.ToArray()), TimeSpan.FromSeconds(30));
            return answer.Status;
        });
        Assert.That(status, Is.EqualTo(413));
        recorded.AssertCountedAndLoggedOnce("/api/predictions", "POST", status);
    }

    [Test]
    public async Task A_body_of_the_wrong_content_type_is_counted_and_logged_as_the_415_the_client_got_under_unmatched()
    {
        // Routing itself refuses it (the endpoint declares the JSON it accepts), as it refuses a method with 405.
        var (status, recorded) = await SendAsync(HttpMethod.Post, "/api/predictions", new StringContent(Measurements, Encoding.UTF8, "text/plain"));
        Assert.That(status, Is.EqualTo(415));
        recorded.AssertCountedAndLoggedOnce("unmatched", "POST", status);
    }

    [Test]
    public async Task An_unknown_api_route_is_counted_and_logged_as_the_404_the_client_got_under_unmatched()
    {
        var (status, recorded) = await SendAsync(HttpMethod.Get, "/api/no/such/thing");
        Assert.That(status, Is.EqualTo(404));
        recorded.AssertCountedAndLoggedOnce("unmatched", "GET", status);
    }

    [Test]
    public async Task A_method_the_route_does_not_allow_is_counted_and_logged_as_the_405_the_client_got_under_unmatched()
    {
        var (status, recorded) = await SendAsync(HttpMethod.Delete, "/api/predictions");
        Assert.That(status, Is.EqualTo(405));
        recorded.AssertCountedAndLoggedOnce("unmatched", "DELETE", status);
    }

    [Test]
    public async Task A_client_hanging_up_before_its_answer_is_counted_and_logged_as_499()
    {
        // The head promises 1000 bytes; the client sends the first few and gives up while the app waits for the rest.
        var (received, recorded) = await RecordedOutcome.OfAsync(_app, () => RawHttp.AbandonAsync(_app.Port!.Value,
            $"POST /api/predictions HTTP/1.1\r\nHost: 127.0.0.1:{_app.Port}\r\nContent-Type: application/json\r\nContent-Length: 1000",
            "{\"billLengthMm\":"u8.ToArray(), TimeSpan.FromMilliseconds(500)));
        Assert.That(received, Is.Zero, "the client got no answer before it hung up");
        recorded.AssertCountedAndLoggedOnce("/api/predictions", "POST", 499);
    }

    [Test]
    public async Task A_body_slower_than_the_minimum_rate_is_counted_and_logged_as_the_408_the_client_got()
    {
        // Two bytes a second, under the 240 B/s Kestrel requires after its 5 s grace period.
        var (status, recorded) = await RecordedOutcome.OfAsync(_app, async () =>
        {
            var head = $"POST /api/predictions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {Measurements.Length + 2000}";
            var answer = await RawHttp.SendAsync(_app.Port!.Value, head, RawHttp.Trickle(Measurements + new string(' ', 2000), TimeSpan.FromMilliseconds(500)), TimeSpan.FromSeconds(40));
            return answer.Status;
        });
        Assert.That(status, Is.EqualTo(408));
        recorded.AssertCountedAndLoggedOnce("/api/predictions", "POST", status);
    }

    [TestCase("POST", "/api/predictions", "/api/predictions")]
    [TestCase("GET", "/History", "/History")]
    public async Task While_the_database_is_down_requests_are_counted_and_logged_as_the_503_the_client_got(string method, string path, string route)
    {
        _app.Cluster.Stop();
        try
        {
            var noticed = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (IsolatedApp.Sample(await _app.MetricsAsync(), "vigie_db_up") != 0 && DateTime.UtcNow < noticed)
            {
                await Task.Delay(100);
            }
            var (status, recorded) = await SendAsync(new HttpMethod(method), path,
                method == "POST" ? new StringContent(Measurements, Encoding.UTF8, "application/json") : null);
            Assert.That(status, Is.EqualTo(503));
            recorded.AssertCountedAndLoggedOnce(route, method, status);
        }
        finally
        {
            _app.Cluster.Start();
            await _app.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
        }
    }

    [TestCase("/no-such-page", "unmatched", 404)]
    [TestCase("/Predictions/999999999", "/Predictions/{id:long}", 404)]
    public async Task An_error_page_re_executed_through_the_pipeline_is_counted_and_logged_once_under_the_route_asked_for(string path, string route, int expected)
    {
        var (status, recorded) = await SendAsync(HttpMethod.Get, path);
        Assert.That(status, Is.EqualTo(expected));
        recorded.AssertCountedAndLoggedOnce(route, "GET", status);
    }

    [Test]
    public async Task A_form_post_rejected_by_its_antiforgery_check_is_counted_and_logged_once_as_the_400_the_client_got()
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.BillLengthMm"] = "39.1", ["Input.BillDepthMm"] = "18.7", ["Input.FlipperLengthMm"] = "181", ["Input.BodyMassG"] = "3750",
        });
        var (status, recorded) = await SendAsync(HttpMethod.Post, "/", form);
        Assert.That(status, Is.EqualTo(400));
        recorded.AssertCountedAndLoggedOnce("/", "POST", status);
    }

    [Test]
    public async Task An_oversize_form_post_answered_by_the_error_page_is_counted_and_logged_once_as_the_413_the_client_got()
    {
        using var client = Client();
        var cookies = new CookieContainer();
        using var loader = new HttpClient(new SocketsHttpHandler { CookieContainer = cookies }) { BaseAddress = client.BaseAddress };
        var html = await loader.GetStringAsync(new Uri("/", UriKind.Relative));
        var token = Uri.EscapeDataString(TokenField().Match(html).Groups[1].Value);
        var (status, recorded) = await RecordedOutcome.OfAsync(_app, async () =>
        {
            var head = $"POST / HTTP/1.1\r\nHost: 127.0.0.1:{_app.Port}\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
                       $"Cookie: {cookies.GetCookieHeader(client.BaseAddress!)}\r\nTransfer-Encoding: chunked";
            var answer = await RawHttp.SendAsync(_app.Port!.Value, head,
                RawHttp.Chunked(Encoding.ASCII.GetBytes($"__RequestVerificationToken={token}&Input.BillLengthMm=39.1&padding="), 6 * 1024 * 1024, (byte)'p', []),
                TimeSpan.FromSeconds(30));
            return answer.Status;
        });
        Assert.That(status, Is.EqualTo(413));
        recorded.AssertCountedAndLoggedOnce("/", "POST", status);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}

/// <summary>
/// An app whose database has not answered since it started: no model is loaded yet, and what it answers meanwhile is
/// recorded as the client got it. An app of its own, as NLog's configuration follows the last app started.
/// </summary>
[NonParallelizable]
public sealed class RecordedStatusWhileTheModelLoadsTests
{
    private IsolatedApp _app = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var cluster = await IsolatedApp.NewClusterAsync();
        cluster.Stop();
        _app = IsolatedApp.Create(cluster, ownsCluster: true);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [TestCase("POST", "/api/predictions", "Model not loaded yet")]
    [TestCase("GET", "/health/ready", null)]
    public async Task Requests_answered_503_while_the_model_loads_are_counted_and_logged_as_503(string method, string path, string? title)
    {
        string body = string.Empty;
        var (status, recorded) = await RecordedOutcome.OfAsync(_app, async () =>
        {
            using var client = _app.NewClient();
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
            if (method == "POST")
            {
                request.Content = JsonContent.Create(new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
            }
            using var response = await client.SendAsync(request);
            body = await response.Content.ReadAsStringAsync();
            return (int)response.StatusCode;
        });
        Assert.That(status, Is.EqualTo(503), body);
        if (title is not null)
        {
            Assert.That(body, Does.Contain(title), "answered by the model-loading path");
        }
        recorded.AssertCountedAndLoggedOnce(path, method, status);
    }
}

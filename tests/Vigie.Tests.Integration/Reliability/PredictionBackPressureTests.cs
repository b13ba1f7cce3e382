using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vigie.Tests.Reliability;

/// <summary>
/// PostgreSQL hangs (frozen, not stopped: connections and statements wait for their timeouts). Predictions must not
/// queue behind it without end: once the probe knows the database is unreachable they are refused at once, and while
/// it does not know yet, the queue of the group insert is bounded.
/// </summary>
[NonParallelizable]
public sealed partial class PredictionBackPressureTests
{
    // Longer than the fail-fast answer can take, shorter than a connection attempt to the frozen database waits.
    private static readonly TimeSpan AtOnce = TimeSpan.FromSeconds(2);
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["Database:ConnectTimeoutSeconds"] = "4",
        ["Database:CommandTimeoutSeconds"] = "5",
        ["Database:PredictionQueueCapacity"] = "4",
    };

    private static readonly object Penguin = new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 };

    [Test]
    public async Task While_the_database_is_known_unreachable_the_api_and_the_form_refuse_a_prediction_at_once_with_503()
    {
        await using var app = await IsolatedApp.StartAsync(Settings);
        using var client = app.NewClient();
        var html = await client.GetStringAsync(new Uri("/", UriKind.Relative));
        var token = TokenField().Match(html).Groups[1].Value;

        Observed api, form;
        using (ClusterFreeze.Freeze(app.Cluster))
        {
            await WaitForDbUpAsync(app, 0, TimeSpan.FromSeconds(30));
            api = await TimeAsync(() => client.PostAsJsonAsync("/api/predictions", Penguin));
            form = await TimeAsync(() => client.PostAsync(new Uri("/", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Input.BillLengthMm"] = "39.1",
                ["Input.BillDepthMm"] = "18.7",
                ["Input.FlipperLengthMm"] = "181",
                ["Input.BodyMassG"] = "3750",
                ["__RequestVerificationToken"] = token,
            })));
        }
        await WaitForDbUpAsync(app, 1, TimeSpan.FromSeconds(30));
        using var after = await client.PostAsJsonAsync("/api/predictions", Penguin);

        Assert.Multiple(() =>
        {
            Assert.That(api.Status, Is.EqualTo(503), api.Body);
            Assert.That(api.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(JsonDocument.Parse(api.Body).RootElement.GetProperty("title").GetString(), Is.EqualTo("Database unavailable"));
            Assert.That(api.RetryAfter, Is.Not.Null);
            Assert.That(api.Elapsed, Is.LessThan(AtOnce), "answered without waiting for a connection attempt");

            Assert.That(form.Status, Is.EqualTo(503), "the form answers 503 too");
            Assert.That(form.MediaType, Is.EqualTo("text/html"));
            Assert.That(form.Body, Does.Contain("class=\"form-errors").And.Contain("Database unavailable"), "the reason is shown beside the form");
            Assert.That(form.Body, Does.Contain("value=\"3750\""), "the values typed are kept");
            Assert.That(form.Body, Does.Not.Contain("data-testid=\"error-page\""));
            Assert.That(form.RetryAfter, Is.Not.Null);
            Assert.That(form.Elapsed, Is.LessThan(AtOnce));

            Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Created), "stored again once the database answers");
        });
    }

    [Test]
    public async Task Predictions_beyond_the_queue_capacity_are_refused_at_once_while_the_database_hangs_unnoticed()
    {
        await using var app = await IsolatedApp.StartAsync(Settings);
        using var client = app.NewClient();
        using (var warm = await client.PostAsJsonAsync("/api/predictions", Penguin))
        {
            Assert.That(warm.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        }

        var answers = new List<Task<Observed>>();
        using (ClusterFreeze.Freeze(app.Cluster))
        {
            // One at a time, so each idle writer takes one and blocks on the frozen database; then the queue (4) fills.
            // 20 requests in about a second: the probe needs its command timeout (5 s) to notice the hang.
            for (var i = 0; i < 20; i++)
            {
                answers.Add(TimeAsync(() => client.PostAsJsonAsync("/api/predictions", Penguin)));
                await Task.Delay(50);
            }
            await Task.WhenAll(answers);
        }
        var observed = answers.Select(a => a.Result).ToList();
        var full = observed.Where(o => o.Title == "Too many predictions waiting").ToList();
        TestContext.Out.WriteLine(string.Join(Environment.NewLine, observed.Select(o => $"{o.Status} {o.Title} {o.Elapsed.TotalSeconds:F2} s")));

        Assert.Multiple(() =>
        {
            Assert.That(observed.Select(o => o.Status).Distinct(), Is.EqualTo(new[] { 503 }), "nothing stored, nothing else than 503");
            Assert.That(full, Is.Not.Empty, "beyond the capacity, refused");
            Assert.That(full.Select(o => o.Elapsed), Has.All.LessThan(AtOnce), "and refused at once");
            Assert.That(full.Select(o => o.RetryAfter), Has.All.Not.Null);
            Assert.That(observed.Where(o => o.Title != "Too many predictions waiting").Select(o => o.Title), Has.All.EqualTo("Database unavailable"));
        });
    }

    private sealed record Observed(int Status, string? MediaType, string Body, string? Title, string? RetryAfter, TimeSpan Elapsed);

    private static async Task<Observed> TimeAsync(Func<Task<HttpResponseMessage>> send)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await send();
        var body = await response.Content.ReadAsStringAsync();
        var elapsed = Stopwatch.GetElapsedTime(started);
        string? title = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            title = JsonDocument.Parse(body).RootElement.GetProperty("title").GetString();
        }
        return new Observed((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body, title, response.Headers.RetryAfter?.ToString(), elapsed);
    }

    private static async Task WaitForDbUpAsync(IsolatedApp app, double value, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (IsolatedApp.Sample(await app.MetricsAsync(), "vigie_db_up") != value)
        {
            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"vigie_db_up did not become {value} within {timeout.TotalSeconds} s");
            }
            await Task.Delay(100);
        }
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}

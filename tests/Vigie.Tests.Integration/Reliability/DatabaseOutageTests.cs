using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Vigie.Tests.Reliability;

/// <summary>
/// PostgreSQL stops while the app serves a steady stream of predictions, then comes back. The scenario runs once
/// (OneTimeSetUp, about 15 s); each test checks one promise about it.
/// </summary>
[NonParallelizable]
public sealed class DatabaseOutageTests
{
    // Database:ConnectTimeoutSeconds of the app under test (IsolatedApp.FastTimeouts): an outage must answer within it.
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(1.5);

    private IsolatedApp _app = null!;
    private readonly ConcurrentBag<Attempt> _attempts = [];
    private readonly Dictionary<string, Observation> _outage = [];
    private double _insertErrorsBefore;
    private double _insertErrorsDuring;
    private string _metricsDuring = string.Empty;
    private string _metricsAfter = string.Empty;
    private TimeSpan _recovery;
    private List<object?[]> _rows = [];

    /// <summary>One POST of the traffic driver: its sequence number (encoded in bodyMassG), answer and timing.</summary>
    private sealed record Attempt(int Sequence, int Status, long? Id, string? MediaType, TimeSpan Elapsed, string Phase);

    /// <summary>One request made during the outage.</summary>
    private sealed record Observation(int Status, string? MediaType, string Body, TimeSpan Elapsed, string? RetryAfter);

    [OneTimeSetUp]
    public async Task RunTheOutageAsync()
    {
        _app = await IsolatedApp.StartAsync();
        _insertErrorsBefore = IsolatedApp.Sample(await _app.MetricsAsync(), "vigie_db_errors_total", "operation=\"insert_prediction\"") ?? 0;

        using var client = _app.NewClient();
        using var stop = new CancellationTokenSource();
        var phase = "before";
        var sequence = 0;
        var drivers = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref sequence);
                var started = Stopwatch.GetTimestamp();
                var current = Volatile.Read(ref phase);
                using var response = await client.PostAsJsonAsync("/api/predictions",
                    new { billLengthMm = 45.2, billDepthMm = 15.8, flipperLengthMm = 215, bodyMassG = 3000 + n / 1000.0 });
                var elapsed = Stopwatch.GetElapsedTime(started);
                long? id = response.StatusCode == HttpStatusCode.Created
                    ? (await response.Content.ReadFromJsonAsync<JsonElement>(IsolatedApp.Json)).GetProperty("id").GetInt64()
                    : null;
                _attempts.Add(new Attempt(n, (int)response.StatusCode, id, response.Content.Headers.ContentType?.MediaType, elapsed, current));
                await Task.Delay(5);
            }
        })).ToList();

        await Task.Delay(TimeSpan.FromSeconds(2));
        Volatile.Write(ref phase, "during");
        _app.Cluster.Stop();

        // The probe runs every 0.5 s: wait until it has noticed, then look at every kind of endpoint.
        var noticed = Stopwatch.StartNew();
        while (IsolatedApp.Sample(await _app.MetricsAsync(), "vigie_db_up") != 0 && noticed.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }
        foreach (var (name, method, path) in new[]
        {
            ("live", HttpMethod.Get, "/health/live"),
            ("ready", HttpMethod.Get, "/health/ready"),
            ("create", HttpMethod.Post, "/api/predictions"),
            ("list", HttpMethod.Get, "/api/predictions"),
            ("get", HttpMethod.Get, "/api/predictions/1"),
            ("history page", HttpMethod.Get, "/History"),
            ("prediction page", HttpMethod.Get, "/Predictions/1"),
            ("home page", HttpMethod.Get, "/"),
        })
        {
            using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
            if (method == HttpMethod.Post)
            {
                request.Content = JsonContent.Create(new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
            }
            var started = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            _outage[name] = new Observation((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body,
                Stopwatch.GetElapsedTime(started), response.Headers.RetryAfter?.ToString());
        }
        _metricsDuring = await _app.MetricsAsync();
        _insertErrorsDuring = IsolatedApp.Sample(_metricsDuring, "vigie_db_errors_total", "operation=\"insert_prediction\"") ?? 0;
        await Task.Delay(TimeSpan.FromSeconds(1));

        Volatile.Write(ref phase, "after");
        // From the restart command on: PostgreSQL's own start-up (pg_ctl waits for it) counts in the recovery time.
        var restarted = Stopwatch.StartNew();
        _app.Cluster.Start();
        while (restarted.Elapsed < TimeSpan.FromSeconds(30))
        {
            using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
            if (ready.IsSuccessStatusCode)
            {
                break;
            }
            await Task.Delay(100);
        }
        _recovery = restarted.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(2));
        _metricsAfter = await _app.MetricsAsync();
        await stop.CancelAsync();
        await Task.WhenAll(drivers);
        _rows = await _app.RowsAsync("SELECT id, body_mass_g FROM predictions WHERE channel = 'api' AND body_mass_g > 3000 AND body_mass_g < 4000 AND bill_length_mm = 45.2");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Test]
    public void Liveness_stays_200_during_the_outage() =>
        Assert.That(_outage["live"].Status, Is.EqualTo(200));

    [Test]
    public void Readiness_answers_503_problem_json_within_the_connect_timeout()
    {
        var ready = _outage["ready"];
        Assert.Multiple(() =>
        {
            Assert.That(ready.Status, Is.EqualTo(503));
            Assert.That(ready.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(ready.Body, Does.Contain("database"));
            Assert.That(ready.Elapsed, Is.LessThan(ConnectTimeout + Margin));
        });
    }

    [Test]
    public void Readiness_during_the_outage_says_database_unreachable_without_the_drivers_message()
    {
        var ready = JsonDocument.Parse(_outage["ready"].Body).RootElement;
        var port = new Npgsql.NpgsqlConnectionStringBuilder(_app.Cluster.AppConnectionString).Port.ToString(CultureInfo.InvariantCulture);
        Assert.Multiple(() =>
        {
            Assert.That(ready.GetProperty("detail").GetString(), Is.EqualTo("database unreachable"));
            Assert.That(ready.GetProperty("checks").GetProperty("database").GetProperty("description").GetString(), Is.EqualTo("database unreachable"));
            // What Npgsql says (host, port, socket error) stays in the log.
            Assert.That(_outage["ready"].Body, Does.Not.Contain(port).And.Not.Contain("127.0.0.1").And.Not.Contain("onnect").And.Not.Contain("refused"));
        });
    }

    [TestCase("create")]
    [TestCase("list")]
    [TestCase("get")]
    public void The_API_answers_503_problem_json_with_retry_after_within_the_connect_timeout(string name)
    {
        var answer = _outage[name];
        Assert.Multiple(() =>
        {
            Assert.That(answer.Status, Is.EqualTo(503), answer.Body);
            Assert.That(answer.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(JsonDocument.Parse(answer.Body).RootElement.GetProperty("title").GetString(), Is.EqualTo("Database unavailable"));
            Assert.That(answer.RetryAfter, Is.Not.Null);
            Assert.That(answer.Elapsed, Is.LessThan(ConnectTimeout + Margin));
        });
    }

    [TestCase("history page")]
    [TestCase("prediction page")]
    public void Pages_that_need_the_database_show_the_error_page_and_the_status_strip_turns_to_error(string name)
    {
        var page = _outage[name];
        Assert.Multiple(() =>
        {
            Assert.That(page.Status, Is.EqualTo(503));
            Assert.That(page.MediaType, Is.EqualTo("text/html"));
            Assert.That(page.Body, Does.Contain("data-testid=\"error-page\""));
            Assert.That(page.Body, Does.Contain("Database unavailable"));
            Assert.That(page.Body, Does.Contain("status-strip status-error"));
            Assert.That(page.Body, Does.Contain("The database is unavailable"));
            Assert.That(page.Body, Does.Contain("cannot be read").And.Not.Contain("nothing was stored"), "a read stored nothing and had nothing to store");
            Assert.That(page.Elapsed, Is.LessThan(ConnectTimeout + Margin));
        });
    }

    [Test]
    public void The_prediction_form_still_opens_and_its_status_strip_says_the_database_is_unavailable()
    {
        var page = _outage["home page"];
        Assert.Multiple(() =>
        {
            Assert.That(page.Status, Is.EqualTo(200));
            Assert.That(page.Body, Does.Contain("status-strip status-error"));
            Assert.That(page.Body, Does.Contain("The database is unavailable"));
        });
    }

    [Test]
    public void The_sidecar_keeps_serving_metrics_with_db_up_0_and_the_failed_inserts_counted()
    {
        Assert.Multiple(() =>
        {
            Assert.That(IsolatedApp.Sample(_metricsDuring, "vigie_db_up"), Is.EqualTo(0));
            Assert.That(_insertErrorsDuring, Is.GreaterThan(_insertErrorsBefore));
            Assert.That(IsolatedApp.Sample(_metricsDuring, "vigie_db_errors_total", "operation=\"ping\""), Is.GreaterThan(0));
        });
    }

    [Test]
    public void Every_failed_request_was_a_503_problem_and_none_hung()
    {
        var failed = _attempts.Where(a => a.Status != 201).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(failed, Is.Not.Empty, "the driver ran into the outage");
            Assert.That(failed.Select(a => a.Status).Distinct(), Is.EquivalentTo(new[] { 503 }));
            Assert.That(failed.Select(a => a.MediaType).Distinct(), Is.EquivalentTo(new[] { "application/problem+json" }));
            // No request waits longer than a connection attempt plus a statement (Database:CommandTimeoutSeconds = 5).
            Assert.That(_attempts.Max(a => a.Elapsed), Is.LessThan(TimeSpan.FromSeconds(7)));
        });
    }

    [Test]
    public void The_app_recovers_without_a_restart_within_seconds()
    {
        var after = _attempts.Where(a => a.Phase == "after").OrderBy(a => a.Sequence).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(_recovery, Is.LessThan(TimeSpan.FromSeconds(10)), "ready again after the database restarted");
            Assert.That(IsolatedApp.Sample(_metricsAfter, "vigie_db_up"), Is.EqualTo(1));
            Assert.That(after.TakeLast(20).Select(a => a.Status), Has.All.EqualTo(201), "predictions are stored again");
        });
    }

    [Test]
    public void Every_acknowledged_prediction_is_in_the_table_exactly_once()
    {
        var acknowledged = _attempts.Where(a => a.Status == 201).ToList();
        var rowsBySequence = _rows.GroupBy(r => (int)Math.Round(((double)r[1]! - 3000) * 1000)).ToDictionary(g => g.Key, g => g.Select(r => (long)r[0]!).ToList());
        var missing = acknowledged.Where(a => !rowsBySequence.ContainsKey(a.Sequence)).ToList();
        var wrongId = acknowledged.Where(a => rowsBySequence.TryGetValue(a.Sequence, out var ids) && ids.Single() != a.Id).ToList();
        var unacknowledged = rowsBySequence.Keys.Except(acknowledged.Select(a => a.Sequence)).ToList();
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{_attempts.Count} requests: {acknowledged.Count} acknowledged ({acknowledged.Count(a => a.Phase == "before")} before, {acknowledged.Count(a => a.Phase == "during")} while stopping, {acknowledged.Count(a => a.Phase == "after")} after), {_attempts.Count - acknowledged.Count} answered 503; rows: {_rows.Count}; recovery {_recovery.TotalSeconds:F1} s"));
        Assert.Multiple(() =>
        {
            Assert.That(acknowledged.Count(a => a.Phase == "before"), Is.GreaterThan(0));
            Assert.That(acknowledged.Count(a => a.Phase == "after"), Is.GreaterThan(0));
            Assert.That(missing, Is.Empty, "acknowledged but not stored");
            Assert.That(rowsBySequence.Values.Where(ids => ids.Count > 1), Is.Empty, "stored twice");
            Assert.That(wrongId, Is.Empty, "stored under another id than the one answered");
            // A request cut off while the database went down may have committed without its answer reaching the client;
            // only a request that did not get a 201 can be such a row.
            Assert.That(unacknowledged, Is.SubsetOf(_attempts.Where(a => a.Status != 201).Select(a => a.Sequence)));
        });
    }
}

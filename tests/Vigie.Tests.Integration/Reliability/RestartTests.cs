using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Reliability;

/// <summary>
/// What a person or Alertmanager was told before the app restarted still holds after it: open forms are accepted
/// (the Data Protection key ring lives in PostgreSQL), the admin stays signed in, a firing alert stays on /Alerts, and
/// an alert the app could not store was never acknowledged. A restart is a new app on the same cluster.
/// </summary>
[NonParallelizable]
public sealed partial class RestartTests
{
    private const string AdminToken = "restart-test-admin-token";
    private static readonly Dictionary<string, string> WithAdmin = new() { ["admin_token"] = AdminToken };

    private PostgresCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task CreateClusterAsync() => _cluster = await IsolatedApp.NewClusterAsync();

    [OneTimeTearDown]
    public void RemoveCluster() => _cluster?.Dispose();

    [SetUp]
    public void StartCluster()
    {
        // A test that stopped the cluster may have failed before it started it again.
        if (!File.Exists(Path.Combine(_cluster.BaseDirectory, "data", "postmaster.pid")))
        {
            _cluster.Start();
        }
    }

    [Test]
    public async Task A_form_rendered_before_a_restart_is_accepted_after_it()
    {
        var cookies = new CookieContainer();
        string token;
        await using (var before = await ReadyAppAsync())
        {
            using var browser = Browser(before, cookies);
            token = await AntiforgeryTokenAsync(browser, "/");
        }

        await using var after = await ReadyAppAsync();
        using var sameBrowser = Browser(after, cookies);
        using var posted = await sameBrowser.PostAsync(new Uri("/", UriKind.Relative), PredictionForm(token));
        var keys = await KeysAsync();

        Assert.Multiple(() =>
        {
            Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the token of the form rendered before the restart is accepted");
            Assert.That(posted.Headers.Location?.ToString(), Does.StartWith("/Predictions/"));
            Assert.That(keys, Is.EqualTo(1), "the key ring is in PostgreSQL: one key, kept across the restart");
        });
    }

    // The proof that the ring comes from PostgreSQL and nowhere else: in this test process the framework's default
    // store (files under $HOME/.aspnet, writable here though not in the container) would otherwise carry keys across.
    [Test]
    public async Task A_form_whose_key_was_removed_from_the_database_is_refused_after_a_restart()
    {
        var cookies = new CookieContainer();
        string token;
        await using (var before = await ReadyAppAsync())
        {
            using var browser = Browser(before, cookies);
            token = await AntiforgeryTokenAsync(browser, "/");
        }
        await RowsAsync("DELETE FROM data_protection_keys");

        await using var after = await ReadyAppAsync();
        using var sameBrowser = Browser(after, cookies);
        using var posted = await sameBrowser.PostAsync(new Uri("/", UriKind.Relative), PredictionForm(token));
        var fresh = await AntiforgeryTokenAsync(sameBrowser, "/");
        using var postedFresh = await sameBrowser.PostAsync(new Uri("/", UriKind.Relative), PredictionForm(fresh));

        Assert.Multiple(() =>
        {
            Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the old token's key is gone with its row");
            Assert.That(postedFresh.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "a new key was made and stored; new forms work");
        });
    }

    [Test]
    public async Task Two_instances_on_one_database_accept_each_others_form_tokens()
    {
        await using var first = await ReadyAppAsync();
        await using var second = await ReadyAppAsync();
        var cookies = new CookieContainer();
        using var onFirst = Browser(first, cookies);
        using var onSecond = Browser(second, cookies);

        var fromFirst = await AntiforgeryTokenAsync(onFirst, "/");
        using var postedToSecond = await onSecond.PostAsync(new Uri("/", UriKind.Relative), PredictionForm(fromFirst));
        var fromSecond = await AntiforgeryTokenAsync(onSecond, "/");
        using var postedToFirst = await onFirst.PostAsync(new Uri("/", UriKind.Relative), PredictionForm(fromSecond));

        var keys = await KeysAsync();
        Assert.Multiple(() =>
        {
            Assert.That(postedToSecond.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "second accepts the first's token");
            Assert.That(postedToFirst.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "first accepts the second's token");
            Assert.That(keys, Is.EqualTo(1), "one key ring, one key");
        });
    }

    [Test]
    public async Task The_admin_sign_in_and_its_forms_survive_a_restart()
    {
        var cookies = new CookieContainer();
        string logoutToken;
        await using (var before = await ReadyAppAsync(WithAdmin))
        {
            using var browser = Browser(before, cookies);
            var loginToken = await AntiforgeryTokenAsync(browser, "/Models");
            using var login = await browser.PostAsync(new Uri("/Models?handler=Login", UriKind.Relative),
                Form(loginToken, ("Token", AdminToken)));
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "signed in before the restart");
            logoutToken = await AntiforgeryTokenAsync(browser, "/Models");
        }

        await using var after = await ReadyAppAsync(WithAdmin);
        using var sameBrowser = Browser(after, cookies);
        var page = await sameBrowser.GetStringAsync(new Uri("/Models", UriKind.Relative));
        using var logout = await sameBrowser.PostAsync(new Uri("/Models?handler=Logout", UriKind.Relative), Form(logoutToken));
        var keys = await KeysAsync();

        Assert.Multiple(() =>
        {
            Assert.That(keys, Is.EqualTo(1), "the key ring is in PostgreSQL");
            Assert.That(page, Does.Contain("handler=Train"), "still signed in as admin after the restart");
            Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "a form of the signed-in page rendered before the restart is accepted");
        });
    }

    [Test]
    public async Task A_form_asked_for_before_the_database_answers_gets_503_then_works_once_it_does()
    {
        _cluster.Stop();
        await using var app = IsolatedApp.Create(_cluster, WithAdmin);
        var cookies = new CookieContainer();
        using var browser = Browser(app, cookies);
        await Task.Delay(TimeSpan.FromSeconds(1));
        using var without = await browser.GetAsync(new Uri("/", UriKind.Relative));
        var withoutBody = await without.Content.ReadAsStringAsync();

        _cluster.Start();
        await app.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
        var token = await AntiforgeryTokenAsync(browser, "/");
        using var posted = await browser.PostAsync(new Uri("/", UriKind.Relative), PredictionForm(token));
        var log = await ReadLogAsync(app);

        Assert.Multiple(() =>
        {
            Assert.That(log, Does.Not.Contain("reading the key ring"), "no error logged for a key ring the database cannot give yet");
            Assert.That(without.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), withoutBody);
            Assert.That(without.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(withoutBody, Does.Contain("data-testid=\"error-page\"").And.Contain("Database unavailable"));
            Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "once the database answers the form works");
        });
    }

    [Test]
    public async Task A_firing_alert_is_stored_before_its_200_stays_on_the_alerts_page_after_a_restart_and_leaves_it_when_resolved()
    {
        var fingerprint = Guid.NewGuid().ToString("N")[..16];
        long storedAtAnswer;
        await using (var before = await ReadyAppAsync())
        {
            using var client = before.NewClient();
            using var firing = await PostAlertAsync(client, fingerprint, "firing");
            Assert.That(firing.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            storedAtAnswer = await StoredAsync(fingerprint);
        }

        await using var after = await ReadyAppAsync();
        using var afterClient = after.NewClient();
        var page = await afterClient.GetStringAsync(new Uri("/Alerts", UriKind.Relative));
        var strip = await afterClient.GetStringAsync(new Uri("/", UriKind.Relative));
        using var resolved = await PostAlertAsync(afterClient, fingerprint, "resolved");
        var pageAfterResolved = await afterClient.GetStringAsync(new Uri("/Alerts", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(storedAtAnswer, Is.EqualTo(1), "the notification was in the table when Alertmanager got its 200");
            Assert.That(page, Does.Contain($"data-fingerprint=\"{fingerprint}\""), "still firing on /Alerts after the restart");
            Assert.That(strip, Does.Match("[0-9]+ alerts? firing"), "the status strip counts it after the restart");
            Assert.That(resolved.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(pageAfterResolved, Does.Not.Contain($"data-fingerprint=\"{fingerprint}\""), "the resolution clears it");
        });
    }

    [Test]
    public async Task An_alert_sent_while_the_database_is_down_is_refused_with_503_so_Alertmanager_resends_it_after_a_restart()
    {
        var fingerprint = Guid.NewGuid().ToString("N")[..16];
        HttpResponseMessage duringOutage;
        TimeSpan elapsed;
        await using (var before = await ReadyAppAsync())
        {
            _cluster.Stop();
            await WaitForDbUpAsync(before, 0);
            using var client = before.NewClient();
            var started = Stopwatch.GetTimestamp();
            duringOutage = await PostAlertAsync(client, fingerprint, "firing");
            elapsed = Stopwatch.GetElapsedTime(started);
        }
        using var refused = duringOutage;
        var problem = await refused.Content.ReadAsStringAsync();

        // The app restarts, the database comes back, and Alertmanager delivers the notification again.
        _cluster.Start();
        await using var after = await ReadyAppAsync();
        using var afterClient = after.NewClient();
        using var resent = await PostAlertAsync(afterClient, fingerprint, "firing");
        var page = await afterClient.GetStringAsync(new Uri("/Alerts", UriKind.Relative));
        var stored = await StoredAsync(fingerprint);

        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "not acknowledged: Alertmanager retries a 5xx");
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(JsonDocument.Parse(problem).RootElement.GetProperty("title").GetString(), Is.EqualTo("Database unavailable"));
            Assert.That(refused.Headers.RetryAfter, Is.Not.Null);
            // Answered, not hung: within the connect timeout (2 s in these apps) and a margin.
            Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(3.5)));
            Assert.That(resent.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(stored, Is.EqualTo(1));
            Assert.That(page, Does.Contain($"data-fingerprint=\"{fingerprint}\""));
        });
    }

    private async Task<IsolatedApp> ReadyAppAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var app = IsolatedApp.Create(_cluster, settings);
        try
        {
            await app.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    private async Task<long> StoredAsync(string fingerprint) =>
        (long)(await RowsAsync($"SELECT count(*) FROM alert_notifications WHERE fingerprint = '{fingerprint}'"))[0][0]!;

    private async Task<long> KeysAsync() => (long)(await RowsAsync("SELECT count(*) FROM data_protection_keys"))[0][0]!;

    // A connection of its own: pooled ones do not survive the cluster's restarts.
    private Task<List<object?[]>> RowsAsync(string sql) =>
        Sql.RowsAsync(new Npgsql.NpgsqlConnectionStringBuilder(_cluster.AdminConnectionString) { Pooling = false }.ConnectionString, sql);

    private static async Task<string> ReadLogAsync(IsolatedApp app)
    {
        await using var stream = new FileStream(Path.Combine(app.Factory.LogDirectory, "web.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    private static async Task WaitForDbUpAsync(IsolatedApp app, double value)
    {
        var deadline = Stopwatch.StartNew();
        while (IsolatedApp.Sample(await app.MetricsAsync(), "vigie_db_up") != value)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(15))
            {
                throw new TimeoutException($"vigie_db_up did not become {value}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>A browser: no redirects followed, cookies kept in <paramref name="cookies"/> whichever app it talks to.</summary>
    private static HttpClient Browser(IsolatedApp app, CookieContainer cookies) =>
        app.Factory.CreateDefaultClient(new Uri("http://localhost"), new CookieContainerHandler(cookies));

    private static async Task<string> AntiforgeryTokenAsync(HttpClient client, string path)
    {
        var html = await client.GetStringAsync(new Uri(path, UriKind.Relative));
        return TokenField().Match(html) is { Success: true } match ? match.Groups[1].Value : throw new AssertionException($"No antiforgery token on {path}");
    }

    private static FormUrlEncodedContent PredictionForm(string token) => Form(token,
        ("Input.BillLengthMm", "39.1"), ("Input.BillDepthMm", "18.7"), ("Input.FlipperLengthMm", "181"), ("Input.BodyMassG", "3750"));

    private static FormUrlEncodedContent Form(string token, params (string Name, string Value)[] fields) =>
        new(fields.Select(f => KeyValuePair.Create(f.Name, f.Value)).Append(KeyValuePair.Create("__RequestVerificationToken", token)));

    private static async Task<HttpResponseMessage> PostAlertAsync(HttpClient client, string fingerprint, string status)
    {
        var body = JsonSerializer.Serialize(new
        {
            version = "4",
            status,
            receiver = "vigie-inbox-critical",
            alerts = new[]
            {
                new
                {
                    status,
                    labels = new Dictionary<string, string> { ["alertname"] = "VigieRestartTest", ["severity"] = "critical" },
                    annotations = new Dictionary<string, string> { ["summary"] = "Restart test" },
                    startsAt = "2026-11-30T10:00:00Z",
                    endsAt = status == "resolved" ? "2026-11-30T10:05:00Z" : "0001-01-01T00:00:00Z",
                    fingerprint,
                },
            },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/alerts") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", VigieAppFactory.AlertmanagerToken);
        return await client.SendAsync(request);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}

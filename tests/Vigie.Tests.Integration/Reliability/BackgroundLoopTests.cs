using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Npgsql;

namespace Vigie.Tests.Reliability;

/// <summary>
/// PostgreSQL answers the background loops with errors they do not expect (a missing view, a database that refuses the
/// app's role). Each loop must log, count (<c>vigie_background_failures_total{loop}</c>) and go on; the app keeps
/// serving and recovers once the cause is removed. .NET's default would have stopped the whole app at the first one.
/// </summary>
[NonParallelizable]
public sealed class BackgroundLoopTests
{
    private static readonly object[] Penguin = [new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 }];

    [Test]
    public async Task A_loop_that_hits_an_unexpected_database_error_counts_it_and_goes_on_and_the_app_keeps_serving()
    {
        await using var app = await IsolatedApp.StartAsync();
        using var client = app.NewClient();

        await ExecuteAsync(app, "ALTER VIEW firing_alerts RENAME TO firing_alerts_moved");
        var counted = await EventuallyAsync(app, "vigie_background_failures_total", "loop=\"alert_refresher\"", v => v > 0, TimeSpan.FromSeconds(20));
        using var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
        using var predicted = await client.PostAsJsonAsync("/api/predictions", Penguin[0]);
        var log = await LogAsync(app, "Background loop alert_refresher failed");
        await ExecuteAsync(app, "ALTER VIEW firing_alerts_moved RENAME TO firing_alerts");

        Assert.Multiple(() =>
        {
            Assert.That(counted, Is.GreaterThan(0), "the alert refresher's failure is counted");
            Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the app is still running");
            Assert.That(predicted.StatusCode, Is.EqualTo(HttpStatusCode.Created), "and still serving");
            Assert.That(log, Does.Contain("Background loop alert_refresher failed"), "logged at error level with the cause");
        });
    }

    [Test]
    public async Task A_database_that_refuses_the_app_marks_it_down_counts_probe_failures_and_recovers_once_allowed_again()
    {
        await using var app = await IsolatedApp.StartAsync();
        using var client = app.NewClient();

        // The database refuses new connections of the app's role (42501, not an outage PostgreSQL reports as such).
        await ExecuteAsync(app, "REVOKE CONNECT ON DATABASE vigie FROM PUBLIC, vigie");
        await ExecuteAsync(app, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'vigie'");
        var down = await EventuallyAsync(app, "vigie_db_up", "", v => v == 0, TimeSpan.FromSeconds(20));
        var failures = await EventuallyAsync(app, "vigie_background_failures_total", "loop=\"database_probe\"", v => v > 0, TimeSpan.FromSeconds(10));
        using var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
        using var refused = await client.PostAsJsonAsync("/api/predictions", Penguin[0]);

        await ExecuteAsync(app, "GRANT CONNECT ON DATABASE vigie TO vigie");
        var up = await EventuallyAsync(app, "vigie_db_up", "", v => v == 1, TimeSpan.FromSeconds(20));
        using var predicted = await client.PostAsJsonAsync("/api/predictions", Penguin[0]);

        Assert.Multiple(() =>
        {
            Assert.That(down, Is.Zero, "the probe reports the database unusable");
            Assert.That(failures, Is.GreaterThan(0), "and counts its unexpected failures");
            Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the app is still running");
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "predictions answer 503 meanwhile");
            Assert.That(up, Is.EqualTo(1), "the probe sees the database again");
            Assert.That(predicted.StatusCode, Is.EqualTo(HttpStatusCode.Created), "and predictions are stored again");
        });
    }

    // web.log once it holds <paramref name="expected"/> (the file target writes asynchronously), or as it is after 10 s.
    private static async Task<string> LogAsync(IsolatedApp app, string expected)
    {
        var path = Path.Combine(app.Factory.LogDirectory, "web.log");
        var waited = Stopwatch.StartNew();
        while (true)
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var text = await reader.ReadToEndAsync();
            if (text.Contains(expected, StringComparison.Ordinal) || waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                return text;
            }
            await Task.Delay(200);
        }
    }

    private static async Task ExecuteAsync(IsolatedApp app, string sql)
    {
        await using var connection = new NpgsqlConnection(app.Cluster.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    // The sample's value once it satisfies the condition, or its last value when the time is up.
    private static async Task<double?> EventuallyAsync(IsolatedApp app, string name, string labels, Func<double, bool> condition, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        double? value;
        while ((value = IsolatedApp.Sample(await app.MetricsAsync(), name, labels)) is not { } v || !condition(v))
        {
            if (waited.Elapsed > timeout)
            {
                return value;
            }
            await Task.Delay(100);
        }
        return value;
    }
}

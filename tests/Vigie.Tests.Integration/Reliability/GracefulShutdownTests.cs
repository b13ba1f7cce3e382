using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Reliability;

/// <summary>
/// SIGTERM to the app as a process of its own, as Swarm or Compose sends it, under a steady prediction load: the app
/// answers not-ready first while it still serves (the load balancer's cue), then closes its port, finishes what is in
/// flight and exits; every prediction it acknowledged is stored.
/// </summary>
[NonParallelizable]
public sealed class GracefulShutdownTests
{
    private static readonly TimeSpan DrainDelay = TimeSpan.FromSeconds(4);

    [Test]
    public async Task A_stopping_app_answers_not_ready_while_it_drains_then_exits_with_every_acknowledged_prediction_stored()
    {
        using var cluster = await IsolatedApp.NewClusterAsync();
        using var app = await AppProcess.StartAsync(Infrastructure.RepositoryRoot, Infrastructure.BuildConfiguration, cluster.AppConnectionString,
            new Dictionary<string, string>
            {
                ["Hosting__DrainDelay"] = DrainDelay.ToString("c", CultureInfo.InvariantCulture),
                ["RateLimits__Writes"] = "0",
            });
        using var client = new HttpClient { BaseAddress = app.Url, Timeout = TimeSpan.FromSeconds(30) };

        var acknowledged = new ConcurrentBag<long>();
        var answers = new ConcurrentDictionary<HttpStatusCode, int>();
        var answeredAfterSigterm = 0;
        var refused = 0;
        var sigtermSent = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.PostAsJsonAsync("/api/predictions",
                        new { billLengthMm = 46.1, billDepthMm = 13.2, flipperLengthMm = 211, bodyMassG = 4000 + worker + (i++ * 0.001) });
                    answers.AddOrUpdate(response.StatusCode, 1, (_, n) => n + 1);
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        acknowledged.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
                    }
                    if (Volatile.Read(ref sigtermSent) == 1)
                    {
                        Interlocked.Increment(ref answeredAfterSigterm);
                    }
                }
                catch (HttpRequestException) when (Volatile.Read(ref sigtermSent) == 1)
                {
                    // The port is closed (or a kept-alive connection with it): the app has stopped listening, as it should once drained.
                    Interlocked.Increment(ref refused);
                    return;
                }
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(2));
        var clock = Stopwatch.StartNew();
        var kill = await ProcessRunner.RunAsync("kill", ["-TERM", app.Process.Id.ToString(CultureInfo.InvariantCulture)]);
        Volatile.Write(ref sigtermSent, 1);
        Assert.That(kill.ExitCode, Is.Zero, kill.All);

        // Readiness during the drain, on a connection of its own, polled as a load balancer does (more often): the
        // signal reaches the host asynchronously, so the first answer after `kill` returns may still be the last 200.
        string? readiness = null;
        using (var probe = new HttpClient { BaseAddress = app.Url, Timeout = TimeSpan.FromSeconds(5) })
        {
            while (clock.Elapsed < DrainDelay)
            {
                using var ready = await probe.GetAsync(new Uri("/health/ready", UriKind.Relative));
                readiness = $"{(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}";
                if (ready.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }
                await Task.Delay(50);
            }
        }
        var readinessAt = clock.Elapsed;

        var exited = await Task.Run(() => SpinWait.SpinUntil(() => app.Process.HasExited, TimeSpan.FromSeconds(30)));
        var exitedAt = clock.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(load);

        var ids = acknowledged.ToArray();
        var stored = ids.Length == 0 ? 0 : await cluster.ScalarAsync($"SELECT count(*) FROM predictions WHERE id IN ({string.Join(',', ids)})");
        var allRows = await cluster.ScalarAsync("SELECT count(*) FROM predictions");
        TestContext.Out.WriteLine($"acknowledged {ids.Length}, stored {stored} (table {allRows}), answers {string.Join(", ", answers.Select(a => $"{(int)a.Key}×{a.Value}"))}, " +
            $"answered after SIGTERM {answeredAfterSigterm}, readiness at {readinessAt.TotalSeconds:F1} s: {readiness}, exited at {exitedAt.TotalSeconds:F1} s");
        Assert.Multiple(() =>
        {
            Assert.That(readiness, Does.StartWith("503").And.Contain("shutting down"), "readiness answers not-ready once the app is asked to stop");
            Assert.That(readinessAt, Is.LessThan(DrainDelay), "readiness turns not-ready while the port is still open, so a load balancer can drain it");
            Assert.That(answeredAfterSigterm, Is.GreaterThan(0), "the app goes on serving during the drain delay");
            Assert.That(exited, Is.True, "the app exits once drained and its requests finished");
            Assert.That(exitedAt, Is.GreaterThanOrEqualTo(DrainDelay), "the port stays open for the whole drain delay");
            Assert.That(answers.Keys, Is.EquivalentTo(new[] { HttpStatusCode.Created }), "every answer, during the drain too, is a stored prediction");
            Assert.That(stored, Is.EqualTo(ids.Length), "every acknowledged prediction is stored");
            Assert.That(allRows, Is.EqualTo(ids.Length), "and nothing else was stored");
        });
    }
}

using System.Globalization;

namespace Vigie.Tests.Stack.Swarm;

/// <summary>
/// The web service disrupted under a steady prediction load through the load balancer: a rolling update to a new
/// image tag (start-first) fails no request, and a replica killed outright fails at most the requests it held, is
/// routed around and replaced. Either way every acknowledged prediction is stored exactly once: the marked rows of
/// the table are compared with the ids the clients were given.
/// </summary>
[Order(2)]
public sealed class DisruptionTests
{
    private const int Clients = 4;

    private static SwarmStack Stack => SwarmStackSetUp.Stack;

    [Test]
    public async Task A_rolling_update_under_load_fails_no_request_and_stores_each_acknowledged_prediction_once()
    {
        var before = await MaxIdAsync();
        await using var load = PredictionLoad.Start(Stack.Url, Clients);
        await Task.Delay(TimeSpan.FromSeconds(3));
        // Swarm replaces one replica at a time, starting the new task first and stopping the old one once it is healthy.
        await SwarmStack.DockerAsync(TimeSpan.FromMinutes(6), "service", "update", "--detach=true", "--image", $"vigie-web:{SwarmStack.SecondTag}", $"{SwarmStack.Name}_web");
        await WaitUpdateCompletedAsync(TimeSpan.FromMinutes(6));
        await Task.Delay(TimeSpan.FromSeconds(3));
        await load.StopAsync();

        var outcome = await load.CompareWithTableAsync(Stack, before);
        var images = await SwarmStack.DockerAsync(TimeSpan.FromSeconds(30), "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", $"{SwarmStack.Name}_web");
        TestContext.Out.WriteLine("rolling update: " + outcome);
        TestContext.Progress.WriteLine("  swarm: rolling update: " + outcome);
        Assert.Multiple(() =>
        {
            Assert.That(images, Does.Contain(SwarmStack.SecondTag), "the service runs the new tag");
            Assert.That(outcome.Acknowledged, Is.GreaterThan(100), "the load ran throughout the update");
            Assert.That(load.Failures, Is.Empty, "no request failed at the client during the rolling update");
            Assert.That(outcome.Duplicated, Is.Zero, "no prediction was stored twice");
            Assert.That(outcome.AcknowledgedNotStored, Is.Zero, "every acknowledged prediction is stored under its id");
            Assert.That(outcome.StoredNotAcknowledged, Is.Zero, "nothing was stored that the client was not told of");
        });
    }

    [Test]
    public async Task A_killed_replica_is_routed_around_and_replaced_with_each_acknowledged_prediction_stored_once()
    {
        var before = await MaxIdAsync();
        var victim = (await SwarmStack.HealthyContainersAsync("web")).First();
        await using var load = PredictionLoad.Start(Stack.Url, Clients);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await SwarmStack.DockerAsync(TimeSpan.FromSeconds(30), "kill", victim);
        var killedAt = DateTime.UtcNow;

        // Swarm starts a replacement; it takes traffic once healthy.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        List<string> healthy;
        while ((healthy = await SwarmStack.HealthyContainersAsync("web")).Count < SwarmStack.Replicas || healthy.Contains(victim))
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "Swarm did not replace the killed replica in time");
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        var replacedAfter = DateTime.UtcNow - killedAt;
        var failedBeforeLastStretch = load.Failures.Count;
        await Task.Delay(TimeSpan.FromSeconds(5));
        await load.StopAsync();

        var outcome = await load.CompareWithTableAsync(Stack, before);
        TestContext.Out.WriteLine($"replica killed: {outcome}; replaced after {replacedAfter.TotalSeconds:F0} s; failures: {string.Join(" | ", load.Failures)}");
        TestContext.Progress.WriteLine($"  swarm: replica killed: {outcome}; replaced after {replacedAfter.TotalSeconds:F0} s");
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Acknowledged, Is.GreaterThan(100), "the load ran throughout");
            // A POST the killed replica held cannot be retried elsewhere (it may have been stored): at most one per client.
            Assert.That(load.Failures, Has.Count.LessThanOrEqualTo(Clients), "only requests in flight on the killed replica fail");
            Assert.That(load.Failures, Has.Count.EqualTo(failedBeforeLastStretch), "no request fails once the replacement runs");
            Assert.That(outcome.Duplicated, Is.Zero, "no prediction was stored twice");
            Assert.That(outcome.AcknowledgedNotStored, Is.Zero, "every acknowledged prediction is stored under its id");
            Assert.That(outcome.StoredNotAcknowledged, Is.LessThanOrEqualTo(outcome.Failed), "a row nobody was told of can only be a failed request's");
        });
    }

    private static async Task<long> MaxIdAsync() =>
        long.Parse((await Stack.QueryAsync("SELECT coalesce(max(id), 0) FROM predictions")).Single(), CultureInfo.InvariantCulture);

    private static async Task WaitUpdateCompletedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var state = (await SwarmStack.DockerAsync(TimeSpan.FromSeconds(30), "service", "inspect", "--format",
                "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", $"{SwarmStack.Name}_web")).Trim();
            if (state == "completed")
            {
                return;
            }
            Assert.That(state, Is.Not.EqualTo("rollback_completed").And.Not.EqualTo("paused"), "the rolling update failed");
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"the rolling update did not complete in time (state {state})");
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }
}

using Vigie.Tests.Stack.Containers;

namespace Vigie.Tests.Stack.Swarm;

/// <summary>
/// One Alertmanager of the two stopped, then the database: VigieDatabaseDown still reaches the inbox through the
/// remaining one (shown at once from memory by the replica that received it, through the load balancer, which falls
/// back to the live replicas when none is ready), and is stored once when the database is back.
/// </summary>
[Order(3)]
public sealed class AlertmanagerClusterTests
{
    private static SwarmStack Stack => SwarmStackSetUp.Stack;

    [Test]
    public async Task With_one_alertmanager_of_two_stopped_the_database_down_alert_reaches_the_inbox_once()
    {
        await SwarmStack.DockerAsync(TimeSpan.FromMinutes(2), "service", "scale", "--detach=false", $"{SwarmStack.Name}_alertmanager=1");
        var storedBefore = await FiringRowsAsync();
        using var http = new HttpClient { BaseAddress = Stack.Url, Timeout = TimeSpan.FromSeconds(30) };
        await SwarmStack.DockerAsync(TimeSpan.FromMinutes(2), "service", "scale", "--detach=true", $"{SwarmStack.Name}_db=0");
        bool shown;
        try
        {
            // for: 1m in the rule, 15 s evaluations, 5 s group_wait for critical alerts.
            shown = await OutageTests.EventuallyAsync(async () => (await OutageTests.FiringAsync(http)).Contains("VigieDatabaseDown"), TimeSpan.FromMinutes(4));
        }
        finally
        {
            await SwarmStack.DockerAsync(TimeSpan.FromMinutes(2), "service", "scale", "--detach=true", $"{SwarmStack.Name}_db=1");
        }
        Assert.That(shown, Is.True, "VigieDatabaseDown did not reach the inbox through the remaining Alertmanager");

        // The replica answered 503 while it could not store the notification: Alertmanager sends it again until it can.
        var stored = await OutageTests.EventuallyAsync(async () => (await FiringRowsAsync()).Count > storedBefore.Count, TimeSpan.FromMinutes(3));
        var rows = await FiringRowsAsync();
        TestContext.Out.WriteLine("firing VigieDatabaseDown rows: " + string.Join(" | ", rows));
        Assert.Multiple(() =>
        {
            Assert.That(stored, Is.True, "the notification was stored once the database was back");
            Assert.That(rows, Is.Unique, "each alert (fingerprint and start) is stored once");
        });
        await SwarmStack.DockerAsync(TimeSpan.FromMinutes(2), "service", "scale", "--detach=true", $"{SwarmStack.Name}_alertmanager=2");
    }

    private static async Task<List<string>> FiringRowsAsync()
    {
        try
        {
            return (await Stack.QueryAsync("SELECT fingerprint || ' ' || starts_at FROM alert_notifications WHERE alertname = 'VigieDatabaseDown' AND status = 'firing'")).ToList();
        }
        catch (Exception e) when (e is AssertionException or InvalidOperationException)
        {
            // The database's container is not back (or not healthy) yet.
            return [];
        }
    }
}

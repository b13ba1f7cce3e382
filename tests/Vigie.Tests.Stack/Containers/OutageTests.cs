using System.Text.Json;
using Npgsql;

namespace Vigie.Tests.Stack.Containers;

/// <summary>
/// The database container stopped: the app's probe reports it, Prometheus fires VigieDatabaseDown with the
/// repository's rules and timings, Alertmanager delivers it to the app's inbox with the token of its secret file (the
/// inbox refuses anything else), and starting the database delivers the resolution.
/// </summary>
[Order(3)]
public sealed class OutageTests
{
    private static ContainerStack Stack => ContainerStackSetUp.Stack;

    [Test]
    public async Task Database_down_reaches_the_inbox_through_alertmanager_and_its_resolution_follows()
    {
        // While the db container is stopped its name no longer resolves; on an engine without NAT (the test engine) the
        // embedded DNS's forward of that lookup times out, so a request that touches the database can take ~10 s.
        using var http = new HttpClient { BaseAddress = Stack.WebUrl, Timeout = TimeSpan.FromSeconds(60) };
        await Stack.ComposeAsync(TimeSpan.FromMinutes(1), "stop", "db");
        bool fired;
        try
        {
            // for: 1m in the rule, 15 s evaluations, 5 s group_wait for critical alerts.
            fired = await EventuallyAsync(async () => (await FiringAsync(http)).Contains("VigieDatabaseDown"), TimeSpan.FromMinutes(3));
        }
        finally
        {
            await Stack.ComposeAsync(TimeSpan.FromMinutes(1), "start", "db");
        }
        Assert.That(fired, Is.True, "VigieDatabaseDown did not reach the inbox while the database was down");

        // The resolution waits for Alertmanager's group_interval (1m) after the firing notification.
        var resolved = await EventuallyAsync(async () => await ResolvedRowsAsync() > 0, TimeSpan.FromMinutes(3));
        Assert.Multiple(async () =>
        {
            Assert.That(resolved, Is.True, "the resolved notification was not stored");
            Assert.That(await FiringAsync(http), Does.Not.Contain("VigieDatabaseDown"));
        });
        await Stack.WaitHealthyAsync(ContainerStack.Services, TimeSpan.FromMinutes(2));
    }

    /// <summary>The alert names the inbox lists as firing (GET /api/alerts), none while the app does not answer.</summary>
    internal static async Task<IReadOnlyList<string>> FiringAsync(HttpClient http)
    {
        try
        {
            var document = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/alerts", UriKind.Relative)));
            return document.RootElement.EnumerateArray().Select(a => a.GetProperty("alertName").GetString()!).ToList();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return [];
        }
    }

    private static async Task<long> ResolvedRowsAsync()
    {
        try
        {
            var connection = new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = Stack.DatabasePort,
                Database = "vigie",
                Username = "vigie",
                Password = ContainerStack.Secret("db_password"),
            };
            await using var db = new NpgsqlConnection(connection.ConnectionString);
            await db.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM alert_notifications WHERE alertname = 'VigieDatabaseDown' AND status = 'resolved'", db);
            return (long)(await command.ExecuteScalarAsync())!;
        }
        catch (NpgsqlException)
        {
            return 0;
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 2 s until it holds or <paramref name="timeout"/> passes.</summary>
    internal static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        for (var deadline = DateTime.UtcNow + timeout; DateTime.UtcNow < deadline; await Task.Delay(TimeSpan.FromSeconds(2)))
        {
            if (await condition())
            {
                return true;
            }
        }
        return false;
    }
}

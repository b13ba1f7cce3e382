using System.Text.Json;
using Npgsql;
using Vigie.Stack;

namespace Vigie.Tests.Stack.Alerting;

/// <summary>
/// An alert's whole journey on real processes: the app, PostgreSQL, Prometheus with the repository's rules and
/// Alertmanager with the repository's config (only addresses and waiting times rewritten, as every native run does).
/// Stopping the database must bring VigieDatabaseDown into the app's inbox and its Alerts page; starting it again must
/// deliver the resolution.
/// </summary>
public sealed class AlertDeliveryTests
{
    [Test]
    public async Task Database_down_reaches_the_alerts_page_and_its_resolution_reaches_the_inbox()
    {
        NativeRun.RequireServers();
        var stack = await NativeStack.StartAsync(NativeRun.ThrowawayOptions("alerting", fastTimings: "1s"), line => TestContext.Progress.WriteLine("  starting " + line));
        try
        {
            using var http = new HttpClient { BaseAddress = stack.WebUrl, Timeout = TimeSpan.FromSeconds(10) };
            await stack.WaitForTargetsUpAsync(TimeSpan.FromSeconds(30));

            stack.Database.Stop();
            var fired = await EventuallyAsync(async () => (await FiringAsync(http)).Contains("VigieDatabaseDown"), TimeSpan.FromSeconds(90));
            var page = await http.GetStringAsync(new Uri("/Alerts", UriKind.Relative));
            Assert.Multiple(() =>
            {
                Assert.That(fired, Is.True, "VigieDatabaseDown arrived in the inbox while the database was down");
                Assert.That(page, Does.Contain("data-alertname=\"VigieDatabaseDown\""));
                Assert.That(page, Does.Contain("data-testid=\"history-unavailable\""), "the page says the history cannot be read");
            });

            stack.Database.Start();
            var resolvedStored = await EventuallyAsync(async () => await ResolvedRowsAsync(stack.Database.AppConnectionString) > 0, TimeSpan.FromSeconds(90));
            var firingAfter = await FiringAsync(http);
            Assert.Multiple(async () =>
            {
                Assert.That(resolvedStored, Is.True, "the resolved notification was stored");
                Assert.That(firingAfter, Does.Not.Contain("VigieDatabaseDown"));
                Assert.That(await FiringRowsAsync(stack.Database.AppConnectionString), Is.Zero, "the firing notification received during the outage was stored and is resolved");
                Assert.That(await http.GetStringAsync(new Uri("/Alerts", UriKind.Relative)), Does.Contain("VigieDatabaseDown").And.Contain("data-testid=\"resolved-alerts\""));
            });
        }
        finally
        {
            await NativeRun.StopAsync(stack);
        }
    }

    private static async Task<IReadOnlyList<string>> FiringAsync(HttpClient http)
    {
        var document = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/alerts", UriKind.Relative)));
        return document.RootElement.EnumerateArray().Select(a => a.GetProperty("alertName").GetString()!).ToList();
    }

    private static async Task<long> ResolvedRowsAsync(string connectionString) =>
        await ScalarAsync(connectionString, "SELECT count(*) FROM alert_notifications WHERE alertname = 'VigieDatabaseDown' AND status = 'resolved'");

    private static async Task<long> FiringRowsAsync(string connectionString) =>
        await ScalarAsync(connectionString, "SELECT count(*) FROM firing_alerts WHERE alertname = 'VigieDatabaseDown'");

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            return (long)(await command.ExecuteScalarAsync())!;
        }
        catch (NpgsqlException)
        {
            return -1;
        }
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(500);
        }
        return false;
    }
}

using Vigie.Stack;

namespace Vigie.Tests.Stack.Live;

/// <summary>
/// The native stack of the repository (PostgreSQL, the app built in this test's configuration, Prometheus with the
/// repository's config and rules, node-exporter, blackbox-exporter) on free loopback ports, started once for the
/// tests of this namespace, with traffic driven through the form, the API, a batch upload and feedback.
/// </summary>
[SetUpFixture]
public sealed class LiveStack
{
    public static NativeStack Native { get; private set; } = null!;
    public static PrometheusClient PrometheusApi { get; private set; } = null!;
    public static TrafficDriver Traffic { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        NativeRun.RequireServers();
        var options = NativeRun.ThrowawayOptions("stack") with
        {
            // The model lifecycle's admin actions, and its registry-derived gauges refreshed fast enough for the test.
            AppSettings = new Dictionary<string, string> { ["admin_token"] = TrafficDriver.AdminToken, ["Models__StatsIntervalSeconds"] = "2" },
        };
        Native = await NativeStack.StartAsync(options, line => TestContext.Progress.WriteLine("  starting " + line));
        PrometheusApi = new PrometheusClient(Native.PrometheusUrl);
        Traffic = new TrafficDriver(Native.WebUrl);
        await Traffic.DriveAsync(() => PrometheusApi.WaitForScrapeAsync("vigie-web", TimeSpan.FromSeconds(30)));
        // One backup, as the stack's schedule takes them: the Database dashboard shows its age and size.
        await Backups.TakeAsync(Native.Database, Native.Options.Backups, keep: 2, schedule: TimeSpan.FromHours(1));
        // Every dashboard rate needs two scrapes of each target after the traffic (node-exporter: 15 s interval).
        await PrometheusApi.WaitForDataAsync("rate(vigie_predictions_total{channel=\"batch\"}[1m]) > 0", TimeSpan.FromSeconds(90));
        await PrometheusApi.WaitForDataAsync("rate(node_cpu_seconds_total[1m])", TimeSpan.FromSeconds(90));
        await PrometheusApi.WaitForDataAsync("rate(probe_duration_seconds[1m])", TimeSpan.FromSeconds(90));
        await PrometheusApi.WaitForDataAsync("rate(pg_table_rows_inserted{relname=\"predictions\"}[1m])", TimeSpan.FromSeconds(90));
        await PrometheusApi.WaitForDataAsync("vigie_backup_last_size_bytes", TimeSpan.FromSeconds(90));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        Traffic?.Dispose();
        PrometheusApi?.Dispose();
        if (Native is not null)
        {
            await NativeRun.StopAsync(Native);
        }
    }
}

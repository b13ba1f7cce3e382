using Microsoft.Playwright;
using Vigie.Stack;
using Vigie.Testing;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser.Features;

/// <summary>
/// The outage test stops a database: it gets its own cluster and its own app, so the shared ones the other tests use
/// never go down, whatever order the tests run in.
/// </summary>
public sealed class StatusStripTests : BrowserTest
{
    private static readonly TimeSpan StateChange = TimeSpan.FromSeconds(30);

    [Test]
    public async Task The_status_strip_shows_the_database_the_model_and_links_to_Grafana_and_Prometheus()
    {
        await OpenAsync("/");
        var strip = Page.GetByTestId("status-strip");
        await Expect(strip).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bstatus-ok\b"));
        await Expect(Page.GetByTestId("db-status")).ToContainTextAsync("Database up");
        await Expect(strip).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"Model [0-9a-f]{12}"));
        await Expect(strip).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"\d{1,3}\.\d % accuracy"));
        await Expect(strip.GetByRole(AriaRole.Link, new() { Name = "Grafana" })).ToHaveAttributeAsync("href", KestrelApp.GrafanaUrl);
        await Expect(strip.GetByRole(AriaRole.Link, new() { Name = "Prometheus" })).ToHaveAttributeAsync("href", KestrelApp.PrometheusUrl);
    }

    [Test]
    public async Task The_status_strip_turns_to_an_error_state_when_the_database_stops_and_recovers_when_it_starts_again()
    {
        Infrastructure.Require(PostgresCluster.IsInstalled, "PostgreSQL server binaries (initdb, pg_ctl) are not installed");
        using var cluster = await PostgresCluster.CreateAsync();
        await using var app = await KestrelApp.StartAsync(cluster.AppConnectionString);
        await UseAppAsync(app.BaseUrl);

        // A brand-new database: the history shows its "no predictions yet" state.
        await OpenAsync("/History");
        var empty = Page.GetByTestId("empty-history");
        await Expect(empty.GetByRole(AriaRole.Heading)).ToHaveTextAsync("No predictions yet");
        await Expect(empty.GetByRole(AriaRole.Link, new() { Name = "Upload a CSV" })).ToHaveAttributeAsync("href", "/Batch");
        await Screenshots.CaptureAsync(Page, "history-empty");

        await OpenAsync("/");
        var strip = Page.GetByTestId("status-strip");
        await Expect(Page.GetByTestId("db-status")).ToContainTextAsync("Database up");

        cluster.Stop();
        await ReloadUntilAsync(async () => await strip.GetAttributeAsync("class") is { } c && c.Contains("status-error", StringComparison.Ordinal),
            StateChange, "the status strip to show the outage");
        await Expect(Page.GetByTestId("db-status")).ToContainTextAsync("Database unavailable");
        await Expect(strip.GetByRole(AriaRole.Alert)).ToContainTextAsync("database is unavailable");
        await Screenshots.CaptureAsync(Page, "status-error");

        // Pages that need the database answer a designed 503 while it is down, never a raw 500.
        Problems.Allow(503);
        await OpenAsync("/History", expectedStatus: 503);
        await Expect(Page.GetByTestId("error-page")).ToContainTextAsync("Database unavailable");
        await Screenshots.CaptureAsync(Page, "history-database-down");

        cluster.Start();
        await OpenAsync("/");
        await ReloadUntilAsync(async () => await strip.GetAttributeAsync("class") is { } c && c.Contains("status-ok", StringComparison.Ordinal),
            StateChange, "the status strip to show the recovery");
        await Expect(Page.GetByTestId("db-status")).ToContainTextAsync("Database up");
        await Expect(strip.GetByRole(AriaRole.Alert)).ToHaveCountAsync(0);
        await OpenAsync("/History");
    }
}

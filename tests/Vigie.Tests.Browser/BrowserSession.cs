using Microsoft.Playwright;
using Vigie.Testing;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser;

/// <summary>
/// One PostgreSQL, one app on Kestrel and one headless Chromium for the whole assembly; every test opens its own
/// browser context (fresh cookies), so tests stay independent while paying the start-up costs once.
/// </summary>
[SetUpFixture]
public sealed class BrowserSession
{
    /// <summary>Debian's Chromium; Playwright's own browser downloads are never used.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic",
    ];

    private static IPlaywright? s_playwright;

    public static TestDatabase Database { get; private set; } = null!;
    public static KestrelApp App { get; private set; } = null!;
    public static IBrowser Browser { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        Assertions.SetDefaultExpectTimeout(BrowserTest.TimeoutMs);
        Infrastructure.Require(File.Exists(ChromiumPath), $"Chromium is not installed at {ChromiumPath} (Debian package 'chromium')");
        Database = await TestDatabase.GetAsync();
        var app = KestrelApp.StartAsync(Database.ConnectionString);
        var browser = LaunchAsync();
        App = await app;
        Browser = await browser;
    }

    /// <summary>Starts headless Chromium through Playwright's driver (shipped in its NuGet package).</summary>
    private static async Task<IBrowser> LaunchAsync()
    {
        s_playwright = await Playwright.CreateAsync();
        return await s_playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
            Timeout = 30_000,
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        s_playwright?.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }
        await TestDatabase.StopSharedAsync();
    }
}

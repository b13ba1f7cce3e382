using System.Text.RegularExpressions;
using Microsoft.Playwright;
using NUnit.Framework.Interfaces;

namespace Vigie.Tests.Browser.Harness;

/// <summary>
/// A fresh browser context and page per test, watched for problems: a test fails when its pages logged a console
/// error, had a request fail or answer an unexpected error status, or opened a dialog.
/// </summary>
public abstract class BrowserTest
{
    /// <summary>How long a locator or expectation waits: pages here render in milliseconds, so a miss is a bug.</summary>
    public const float TimeoutMs = 10_000;

    private IBrowserContext? _context;

    protected IPage Page { get; private set; } = null!;

    protected PageProblems Problems { get; private set; } = null!;

    [SetUp]
    public Task OpenBrowserAsync() => UseAppAsync(BrowserSession.App.BaseUrl);

    /// <summary>Replaces the page with one in a new context whose relative URLs go to <paramref name="baseUrl"/>.</summary>
    protected async Task UseAppAsync(string baseUrl)
    {
        if (_context is not null)
        {
            await _context.CloseAsync();
        }
        _context = await BrowserSession.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl,
            ViewportSize = Screenshots.Desktop,
            AcceptDownloads = true,
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        _context.SetDefaultTimeout(TimeoutMs);
        _context.SetDefaultNavigationTimeout(TimeoutMs);
        Page = await _context.NewPageAsync();
        Problems = PageProblems.Watch(Page);
    }

    [TearDown]
    public async Task CloseBrowserAsync()
    {
        if (_context is null)
        {
            return;
        }
        var failed = TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Failed;
        if (failed)
        {
            var directory = Path.Combine(Screenshots.Directory, "failures");
            Directory.CreateDirectory(directory);
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, TestContext.CurrentContext.Test.Name + ".png"), FullPage = true });
        }
        var problems = Problems.All;
        await _context.CloseAsync();
        _context = null;
        if (!failed)
        {
            Assert.That(problems, Is.Empty, "the pages had console errors, failed requests, unexpected error responses or dialogs");
        }
    }

    /// <summary>Opens <paramref name="path"/> and checks the status of the document.</summary>
    protected async Task<IResponse> OpenAsync(string path, int expectedStatus = 200)
    {
        var response = await Page.GotoAsync(path) ?? throw new AssertionException($"No response for {path}");
        Assert.That(response.Status, Is.EqualTo(expectedStatus), $"status of {path}");
        return response;
    }

    /// <summary>Playwright's retrying assertions, e.g. <c>await Expect(locator).ToHaveTextAsync(...)</c>.</summary>
    protected static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    protected static IPageAssertions Expect(IPage page) => Assertions.Expect(page);

    /// <summary>The button with exactly this accessible name.</summary>
    protected ILocator Button(string name) => Page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = name, Exact = true });

    /// <summary>The form control whose label starts with <paramref name="label"/> (labels carry the unit after the name).</summary>
    protected ILocator Field(string label) => Page.GetByLabel(new Regex("^" + Regex.Escape(label)));

    /// <summary>
    /// Reloads until <paramref name="condition"/> holds, for state the page only learns on load (the status strip):
    /// polls, never sleeps a fixed time, and fails after <paramref name="timeout"/>.
    /// </summary>
    protected async Task ReloadUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await Page.ReloadAsync();
            if (await condition())
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.");
            }
            await Task.Delay(200);
        }
    }
}

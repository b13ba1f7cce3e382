using Microsoft.Playwright;
using Vigie.Testing;

namespace Vigie.Tests.Browser.Harness;

/// <summary>Screenshots of a page at a desktop and a phone viewport, under <c>artifacts/screenshots/</c>.</summary>
public static class Screenshots
{
    public static readonly ViewportSize Desktop = new() { Width = 1280, Height = 800 };
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    public static string Directory { get; } = Path.Combine(Infrastructure.RepositoryRoot, "artifacts", "screenshots");

    /// <summary>
    /// Saves <c>&lt;name&gt;-1280x800.png</c> and <c>&lt;name&gt;-390x844.png</c> (what the screen shows) and the same with
    /// <c>-full</c> (the whole page, scrolled), then puts the desktop viewport back. Fails when the page is wider than
    /// the viewport (a layout that makes a phone scroll sideways), or when axe finds a violation at either size: every
    /// state a test captures (empty, with data, with form errors, database down) is audited at both sizes.
    /// </summary>
    public static async Task CaptureAsync(IPage page, string name, IReadOnlyCollection<string>? foreignAxeRules = null)
    {
        ArgumentNullException.ThrowIfNull(page);
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var size in new[] { Desktop, Phone })
        {
            await page.SetViewportSizeAsync(size.Width, size.Height);
            var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
            Assert.That(overflow, Is.LessThanOrEqualTo(0), $"{name} at {size.Width}x{size.Height} is wider than the screen: it scrolls sideways");
            await AxeAudit.AssertNoViolationsAsync(page, $"{name} at {size.Width}x{size.Height}", foreignAxeRules);
            foreach (var full in new[] { false, true })
            {
                await page.ScreenshotAsync(new PageScreenshotOptions
                {
                    Path = Path.Combine(Directory, $"{name}-{size.Width}x{size.Height}{(full ? "-full" : null)}.png"),
                    FullPage = full,
                    Animations = ScreenshotAnimations.Disabled,
                    Caret = ScreenshotCaret.Hide,
                });
            }
        }
        await page.SetViewportSizeAsync(Desktop.Width, Desktop.Height);
    }
}

using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Vigie.Tests.Browser.Harness;

/// <summary>
/// axe-core itself (Deque's engine, the one Lighthouse and pa11y use) on the page as it is now: every rule it runs by
/// default (WCAG 2.x A and AA, contrast included, and its best practices), and no violation allowed.
/// </summary>
public static class AxeAudit
{
    /// <param name="page">The page as it is now.</param>
    /// <param name="where">Names the page and size in the failure message.</param>
    /// <param name="foreignRules">
    /// Rules not held against markup the project does not write (the Scalar API reference's own components); every other
    /// rule still runs on that page. Empty for every page of the app itself.
    /// </param>
    public static async Task AssertNoViolationsAsync(IPage page, string where, IReadOnlyCollection<string>? foreignRules = null)
    {
        ArgumentNullException.ThrowIfNull(page);
        var result = await page.RunAxe();
        var violations = result.Violations
            .Where(v => foreignRules is null || !foreignRules.Contains(v.Id))
            .SelectMany(v => v.Nodes.Select(n => $"{v.Id} ({v.Impact}): {v.Help} at {n.Target}: {n.Html}"))
            .ToList();
        Assert.That(violations, Is.Empty, $"axe violations on {where}");
    }
}

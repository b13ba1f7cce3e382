using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser.Features;

/// <summary>
/// Every page passes axe (at desktop and phone sizes, no violation allowed), and shows a visible focus on every
/// keyboard stop, which axe does not check. The states other tests reach (form errors, database down, a batch
/// report) are audited by <see cref="Screenshots.CaptureAsync"/> where they are captured.
/// </summary>
public sealed partial class AccessibilityTests : BrowserTest
{
    private const string FocusStyle = """
        () => {
          const el = document.activeElement;
          if (!el || el === document.body) return null;
          const style = getComputedStyle(el);
          const visible = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
          return { name: el.tagName + ' ' + (el.innerText || el.id || el.getAttribute('href') || '').trim().slice(0, 40), visible };
        }
        """;

    [TestCase("/")]
    [TestCase("/Batch")]
    [TestCase("/History")]
    [TestCase("/Alerts")]
    [TestCase("/Runbook")]
    [TestCase("/Models")]
    [TestCase("/Predictions/987654321", 404)]
    [TestCase("/no-such-page", 404)]
    [TestCase("/History?batch=00000000-0000-0000-0000-000000000000")]
    public async Task Every_page_passes_axe_at_desktop_and_phone_sizes_and_shows_a_visible_focus_on_each_keyboard_stop(string path, int status = 200)
    {
        if (status != 200)
        {
            Problems.Allow(status);
        }
        await OpenAsync(path, status);
        await AssertAccessibleAsync(path);
    }

    [Test]
    public async Task A_prediction_page_passes_axe_at_desktop_and_phone_sizes_and_shows_a_visible_focus_on_each_keyboard_stop()
    {
        await OpenAsync("/");
        await Field("Bill length").FillAsync("39.1");
        await Field("Bill depth").FillAsync("18.7");
        await Field("Flipper length").FillAsync("181");
        await Field("Body mass").FillAsync("3750");
        await Button("Predict").ClickAsync();
        await Expect(Page).ToHaveURLAsync(DetailsUrl());
        await AssertAccessibleAsync(Page.Url);
    }

    [Test]
    public async Task The_first_tab_reaches_a_skip_link_that_moves_to_the_content()
    {
        await OpenAsync("/History");
        await Page.Keyboard.PressAsync("Tab");
        var skip = Page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" });
        await Expect(skip).ToBeFocusedAsync();
        await Expect(skip).ToBeInViewportAsync();
        await Page.Keyboard.PressAsync("Enter");
        await Expect(Page).ToHaveURLAsync(new Regex("#main$"));
        await Page.Keyboard.PressAsync("Tab");
        await Expect(Page.GetByLabel("Species")).ToBeFocusedAsync();
    }

    private async Task AssertAccessibleAsync(string where)
    {
        foreach (var size in new[] { Screenshots.Phone, Screenshots.Desktop })
        {
            await Page.SetViewportSizeAsync(size.Width, size.Height);
            await AxeAudit.AssertNoViolationsAsync(Page, $"{where} at {size.Width}x{size.Height}");
        }

        // Tab through the page: every stop must show where the focus is.
        var invisible = new List<string>();
        var seen = new HashSet<string>();
        for (var i = 0; i < 40; i++)
        {
            await Page.Keyboard.PressAsync("Tab");
            var focus = await Page.EvaluateAsync<FocusInfo?>(FocusStyle);
            if (focus is null || !seen.Add(focus.Name))
            {
                break;
            }
            if (!focus.Visible)
            {
                invisible.Add(focus.Name);
            }
        }
        Assert.That(seen, Is.Not.Empty, $"nothing on {where} takes the keyboard focus");
        Assert.That(invisible, Is.Empty, $"focused elements without a visible focus indicator on {where}");
    }

    /// <summary>What <see cref="FocusStyle"/> returns (Playwright needs a settable shape to deserialize into).</summary>
    private sealed class FocusInfo
    {
        public string Name { get; set; } = string.Empty;
        public bool Visible { get; set; }
    }

    [GeneratedRegex(@"/Predictions/(\d+)$")]
    private static partial Regex DetailsUrl();
}

using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser.Features;

/// <summary>
/// The basics a screen-reader or keyboard user needs, on every page: a language, a title, one h1, a main landmark,
/// labelled controls, named links and buttons, valid ARIA references, and a visible focus on every stop.
/// </summary>
public sealed partial class AccessibilityTests : BrowserTest
{
    private const string Audit = """
        () => {
          const problems = [];
          const text = el => (el.getAttribute('aria-label') || el.innerText || el.getAttribute('title') || '').trim();
          if (!document.documentElement.lang) problems.push('the html element has no lang');
          if (!document.title.trim()) problems.push('the page has no title');
          const h1 = document.querySelectorAll('h1').length;
          if (h1 !== 1) problems.push(`${h1} h1 elements`);
          if (document.querySelectorAll('main').length !== 1) problems.push('not exactly one main landmark');
          for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea'))
            if ((!el.labels || el.labels.length === 0) && !el.getAttribute('aria-label')) problems.push('unlabelled control ' + el.outerHTML);
          for (const el of document.querySelectorAll('a[href], button'))
            if (!text(el) && !el.querySelector('img[alt]:not([alt=""])')) problems.push('link or button without a name ' + el.outerHTML);
          for (const el of document.querySelectorAll('img'))
            if (!el.hasAttribute('alt')) problems.push('image without alt ' + el.outerHTML);
          const ids = new Set();
          for (const el of document.querySelectorAll('[id]')) { if (ids.has(el.id)) problems.push('duplicate id ' + el.id); ids.add(el.id); }
          for (const attribute of ['aria-describedby', 'aria-labelledby'])
            for (const el of document.querySelectorAll(`[${attribute}]`))
              for (const id of el.getAttribute(attribute).split(/\s+/).filter(Boolean))
                if (!document.getElementById(id)) problems.push(`${attribute} names a missing #${id}`);
          return problems;
        }
        """;

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
    public async Task Every_page_has_labelled_controls_named_links_and_a_visible_focus_on_each_keyboard_stop(string path, int status = 200)
    {
        if (status != 200)
        {
            Problems.Allow(status);
        }
        await OpenAsync(path, status);
        await AssertAccessibleAsync(path);
    }

    [Test]
    public async Task A_prediction_page_has_labelled_controls_named_links_and_a_visible_focus_on_each_keyboard_stop()
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
        var problems = await Page.EvaluateAsync<string[]>(Audit);
        Assert.That(problems, Is.Empty, $"accessibility problems on {where}");

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

using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Playwright;

namespace Vigie.Tests.Browser.Harness;

/// <summary>
/// Everything on a page that a user would call broken: console errors, uncaught script errors, requests that failed,
/// error responses (4xx/5xx) nobody expected, and dialogs (an <c>alert</c> is what injected markup would run).
/// </summary>
public sealed class PageProblems
{
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly ConcurrentDictionary<int, bool> _allowedStatuses = new();

    public static PageProblems Watch(IPage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        var problems = new PageProblems();
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !problems.IsAllowedResourceError(message.Text))
            {
                problems._problems.Enqueue($"console error on {page.Url}: {message.Text}");
            }
        };
        page.PageError += (_, error) => problems._problems.Enqueue($"uncaught script error on {page.Url}: {error}");
        page.RequestFailed += (_, request) => problems._problems.Enqueue($"request failed: {request.Method} {request.Url}: {request.Failure}");
        page.Response += (_, response) =>
        {
            if (response.Status >= 400 && !problems._allowedStatuses.ContainsKey(response.Status))
            {
                problems._problems.Enqueue($"HTTP {response.Status} for {response.Request.Method} {response.Url}");
            }
        };
        page.Dialog += async (_, dialog) =>
        {
            problems._problems.Enqueue($"a {dialog.Type} dialog opened on {page.Url}: {dialog.Message}");
            await dialog.DismissAsync();
        };
        return problems;
    }

    /// <summary>Lets the test expect a status, such as the 404 of the designed not-found page.</summary>
    public void Allow(int status) => _allowedStatuses[status] = true;

    public IReadOnlyList<string> All => [.. _problems];

    // Chromium logs "Failed to load resource: the server responded with a status of 404 (Not Found)" for every error
    // response, the document's included.
    private bool IsAllowedResourceError(string text) =>
        _allowedStatuses.Keys.Any(status => text.Contains(string.Create(CultureInfo.InvariantCulture, $"status of {status} "), StringComparison.Ordinal));
}

using System.Collections.Concurrent;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser.Features;

public sealed class ApiReferencePageTests : BrowserTest
{
    [Test]
    public async Task The_API_reference_renders_the_document_with_every_asset_from_the_app_itself()
    {
        var app = new Uri(BrowserSession.App.BaseUrl);
        var elsewhere = new ConcurrentQueue<string>();
        // Offline for real: a request to any other host is refused and recorded.
        await Page.RouteAsync("**/*", async route =>
        {
            var url = new Uri(route.Request.Url);
            if (url.Scheme is "http" or "https" && url.Authority != app.Authority)
            {
                elsewhere.Enqueue(route.Request.Url);
                await route.AbortAsync();
                return;
            }
            await route.ContinueAsync();
        });

        await OpenAsync("/scalar/v1");
        await Expect(Page.GetByRole(Microsoft.Playwright.AriaRole.Heading, new() { Name = "Vigie API" }).First).ToBeVisibleAsync();
        await Expect(Page.GetByText("Predicts the species of one penguin and stores the prediction.").First).ToBeVisibleAsync();
        // Scalar's own toolbar is a <header role="toolbar"> (axe: aria-allowed-role, minor): its markup, not the app's.
        await Screenshots.CaptureAsync(Page, "api-reference", ["aria-allowed-role"]);

        Assert.That(elsewhere, Is.Empty, "every request of the API reference goes to the app");
    }
}

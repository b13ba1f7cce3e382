using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser.Features;

public sealed partial class HistoryPageTests : BrowserTest
{
    [Test]
    public async Task The_history_filters_by_species_and_channel_and_pages_to_older_predictions()
    {
        using (var api = BrowserSession.App.NewApiClient())
        {
            for (var i = 0; i < 30; i++)
            {
                using var created = await api.PostAsJsonAsync("/api/predictions", new { billLengthMm = 46.5, billDepthMm = 17.9, flipperLengthMm = 192, bodyMassG = 3500 + i });
                Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            }
        }

        await OpenAsync("/History");
        await Page.GetByLabel("Species").SelectOptionAsync("Chinstrap");
        await Page.GetByLabel("Channel").SelectOptionAsync("api");
        await Button("Filter").ClickAsync();

        await Expect(Page).ToHaveURLAsync(new Regex("species=Chinstrap.*channel=api", RegexOptions.IgnoreCase));
        await Expect(Page.GetByLabel("Species")).ToHaveValueAsync("Chinstrap");
        await Expect(Page.GetByLabel("Channel")).ToHaveValueAsync("api");
        var table = Page.GetByTestId("history-table");
        var rows = table.Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(25);
        await Expect(table.Locator("tbody .species")).ToHaveTextAsync(Enumerable.Repeat("Chinstrap", 25).ToArray());
        await Expect(table.Locator("tbody td.channel")).ToHaveTextAsync(Enumerable.Repeat("api", 25).ToArray());
        var firstPage = await RowIdsAsync(table);
        Assert.That(firstPage, Is.Ordered.Descending, "newest first");
        await Screenshots.CaptureAsync(Page, "history");

        await Page.GetByRole(AriaRole.Link, new() { Name = "Older" }).ClickAsync();
        await Expect(Page).ToHaveURLAsync(new Regex("cursor="));
        await Expect(rows.First).ToBeVisibleAsync();
        var secondPage = await RowIdsAsync(table);
        Assert.That(secondPage, Is.Not.Empty);
        Assert.That(secondPage.Max(), Is.LessThan(firstPage.Min()), "the next page holds older predictions");
        await Expect(table.Locator("tbody .species")).ToHaveTextAsync(Enumerable.Repeat("Chinstrap", secondPage.Count).ToArray());

        await Page.GetByRole(AriaRole.Link, new() { Name = "Newest" }).ClickAsync();
        Assert.That((await RowIdsAsync(table)).First(), Is.EqualTo(firstPage.First()));

        await table.GetByRole(AriaRole.Link, new() { Name = firstPage[0].ToString(CultureInfo.InvariantCulture), Exact = true }).ClickAsync();
        await Expect(Page).ToHaveURLAsync(new Regex($"/Predictions/{firstPage[0]}$"));
        await Expect(Page.GetByTestId("species")).ToHaveTextAsync("Chinstrap");
    }

    [Test]
    public async Task A_page_past_the_oldest_prediction_shows_the_designed_empty_state()
    {
        await OpenAsync("/History?cursor=1");
        var empty = Page.GetByTestId("empty-history");
        await Expect(empty.GetByRole(AriaRole.Heading)).ToHaveTextAsync("No older predictions");
        await Expect(empty.GetByRole(AriaRole.Link, new() { Name = "Make one" })).ToHaveAttributeAsync("href", "/");
        await Expect(empty.GetByRole(AriaRole.Link, new() { Name = "Show all predictions" })).ToHaveAttributeAsync("href", "/History");
        await Expect(Page.GetByTestId("history-table")).ToHaveCountAsync(0);
    }

    [Test]
    public async Task A_bad_filter_in_the_address_is_explained_and_shown_as_text()
    {
        Problems.Allow(400);
        await OpenAsync("/History?species=" + Uri.EscapeDataString("<b>Emperor</b>"), expectedStatus: 400);
        await Expect(Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("species must be one of Adelie, Chinstrap, Gentoo.");
        Assert.That(await Page.Locator("main b").CountAsync(), Is.Zero, "the value is not rendered as markup");
    }

    private static async Task<List<long>> RowIdsAsync(ILocator table) =>
        (await table.Locator("tbody tr td:first-child a").AllTextContentsAsync())
        .Select(t => long.Parse(t.Trim().TrimStart('#'), CultureInfo.InvariantCulture)).ToList();
}

using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser.Features;

public sealed class PredictionPageTests : BrowserTest
{
    [Test]
    public async Task Feedback_given_on_a_prediction_page_is_recorded_and_shown()
    {
        await OpenAsync("/");
        await Field("Bill length").FillAsync("50.0");
        await Field("Bill depth").FillAsync("19.5");
        await Field("Flipper length").FillAsync("196");
        await Field("Body mass").FillAsync("3900");
        await Button("Predict").ClickAsync();
        await Expect(Page).ToHaveURLAsync(new Regex(@"/Predictions/\d+$"));
        var id = Page.Url.Split('/')[^1];
        var predicted = (await Page.GetByTestId("species").TextContentAsync())!.Trim();
        var actual = predicted == "Gentoo" ? "Chinstrap" : "Gentoo";

        await Page.GetByLabel("True species").SelectOptionAsync(actual);
        await Button("Record feedback").ClickAsync();

        await Expect(Page.GetByRole(AriaRole.Status)).ToContainTextAsync("Thank you");
        await Expect(Page.GetByTestId("feedback")).ToHaveTextAsync($"True species: {actual} — the prediction was incorrect.");
        await Expect(Page.GetByLabel("True species")).ToHaveCountAsync(0);
        Assert.That(await BrowserSession.Database.ScalarAsync<string>($"SELECT actual_species FROM predictions WHERE id = {id}"), Is.EqualTo(actual));
        await Screenshots.CaptureAsync(Page, "prediction-feedback");

        await OpenAsync("/History");
        var row = Page.GetByTestId("history-table").Locator("tbody tr").Filter(new() { Has = Page.GetByRole(AriaRole.Link, new() { Name = id, Exact = true }) });
        await Expect(row.Locator("td.feedback")).ToHaveTextAsync($"✗ was {actual}");
    }

    [Test]
    public async Task Submitting_feedback_without_choosing_a_species_asks_for_one()
    {
        await OpenAsync("/");
        await Field("Bill length").FillAsync("39.1");
        await Field("Bill depth").FillAsync("18.7");
        await Field("Flipper length").FillAsync("181");
        await Field("Body mass").FillAsync("3750");
        await Button("Predict").ClickAsync();
        await Expect(Page).ToHaveURLAsync(new Regex(@"/Predictions/\d+$"));

        await Button("Record feedback").ClickAsync();
        var select = Page.GetByLabel("True species");
        await Expect(select).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(select).ToHaveAccessibleDescriptionAsync(new Regex("."));
    }

    [Test]
    public async Task An_unknown_prediction_shows_the_designed_error_page()
    {
        Problems.Allow(404);
        await OpenAsync("/Predictions/987654321", expectedStatus: 404);
        var error = Page.GetByTestId("error-page");
        await Expect(error.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Prediction not found");
        await Expect(error.GetByRole(AriaRole.Link, new() { Name = "Back to the prediction form" })).ToHaveAttributeAsync("href", "/");
        await Expect(Page.GetByTestId("status-strip")).ToBeVisibleAsync();
        await Screenshots.CaptureAsync(Page, "error-page");
    }
}

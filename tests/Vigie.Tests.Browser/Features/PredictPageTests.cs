using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser.Features;

public sealed partial class PredictPageTests : BrowserTest
{
    [Test]
    public async Task A_prediction_made_through_the_form_shows_the_species_and_its_confidence()
    {
        await OpenAsync("/");
        await Expect(Page).ToHaveTitleAsync(new Regex("Predict"));
        await Screenshots.CaptureAsync(Page, "predict");

        await Field("Bill length").FillAsync("46.1");
        await Field("Bill depth").FillAsync("13.2");
        await Field("Flipper length").FillAsync("211");
        await Field("Body mass").FillAsync("4500");
        await Button("Predict").ClickAsync();

        await Expect(Page).ToHaveURLAsync(DetailsUrl());
        await Expect(Page.GetByTestId("species")).ToHaveTextAsync("Gentoo");
        await Expect(Page.GetByTestId("confidence")).ToHaveTextAsync(new Regex(@"^\d{1,3}(\.\d)? % confident$"));
        await Expect(Page.GetByText("211 mm", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(Page.GetByText("4,500 g", new() { Exact = true })).ToBeVisibleAsync();
        var id = long.Parse(DetailsUrl().Match(Page.Url).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(await BrowserSession.Database.ScalarAsync<string>($"SELECT channel FROM predictions WHERE id = {id}"), Is.EqualTo("form"));
        await Screenshots.CaptureAsync(Page, "prediction-details");
    }

    [Test]
    public async Task An_invalid_value_is_reported_next_to_its_field_and_the_other_values_are_kept()
    {
        var before = await BrowserSession.Database.ScalarAsync<long>("SELECT count(*) FROM predictions");
        await OpenAsync("/");
        await Field("Bill length").FillAsync("39.1");
        await Field("Bill depth").FillAsync("18.7");
        await Field("Flipper length").FillAsync("999");
        await Field("Body mass").FillAsync("3750");
        await Button("Predict").ClickAsync();

        var error = Page.GetByTestId("error-flipperLengthMm");
        await Expect(error).ToHaveTextAsync("Flipper length must be between 100 and 300 mm.");
        var flipper = Field("Flipper length");
        await Expect(flipper).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(flipper).ToHaveAccessibleDescriptionAsync(new Regex("Flipper length must be between 100 and 300 mm"));
        await Expect(flipper).ToHaveValueAsync("999");
        await Expect(Field("Bill length")).ToHaveValueAsync("39.1");
        await Expect(Field("Bill depth")).ToHaveValueAsync("18.7");
        await Expect(Field("Body mass")).ToHaveValueAsync("3750");
        await Expect(Field("Bill length")).ToHaveAttributeAsync("aria-invalid", "false");
        await Expect(Page.GetByTestId("error-billLengthMm")).ToHaveCountAsync(0);
        Assert.That(await BrowserSession.Database.ScalarAsync<long>("SELECT count(*) FROM predictions"), Is.EqualTo(before), "nothing is stored");

        // The error sits beside its own field: inside the same field group, right under the input.
        var group = Page.Locator(".field").Filter(new() { Has = flipper });
        await Expect(group.GetByTestId("error-flipperLengthMm")).ToBeVisibleAsync();
        await Screenshots.CaptureAsync(Page, "predict-invalid");
    }

    [Test]
    public async Task One_submit_flags_every_bad_field_not_a_number_out_of_range_and_missing()
    {
        await OpenAsync("/");
        await Field("Bill length").FillAsync("abc");
        await Field("Bill depth").FillAsync("99");
        await Field("Body mass").FillAsync("3500");
        await Button("Predict").ClickAsync();

        await Expect(Page.GetByTestId("error-billLengthMm")).ToBeVisibleAsync();
        await Expect(Page.GetByTestId("error-billDepthMm")).ToContainTextAsync("between");
        await Expect(Page.GetByTestId("error-flipperLengthMm")).ToContainTextAsync("required");
        await Expect(Page.GetByTestId("error-bodyMassG")).ToHaveCountAsync(0);
        await Expect(Field("Body mass")).ToHaveValueAsync("3500");
        await Screenshots.CaptureAsync(Page, "predict-every-error");
    }

    [Test]
    public async Task The_form_can_be_filled_and_submitted_with_the_keyboard_alone_with_a_visible_focus()
    {
        await OpenAsync("/");
        await Field("Bill length").FocusAsync();
        await Expect(Field("Bill length")).ToBeFocusedAsync();
        var outline = await Field("Bill length").EvaluateAsync<string>("e => getComputedStyle(e).outlineStyle");
        Assert.That(outline, Is.Not.EqualTo("none"), "the focused field shows where the focus is");

        await Page.Keyboard.TypeAsync("39.1");
        await Page.Keyboard.PressAsync("Tab");
        await Expect(Field("Bill depth")).ToBeFocusedAsync();
        await Page.Keyboard.TypeAsync("18.7");
        await Page.Keyboard.PressAsync("Tab");
        await Page.Keyboard.TypeAsync("181");
        await Page.Keyboard.PressAsync("Tab");
        await Page.Keyboard.TypeAsync("3750");
        await Page.Keyboard.PressAsync("Tab");
        await Expect(Button("Predict")).ToBeFocusedAsync();
        await Page.Keyboard.PressAsync("Enter");

        await Expect(Page).ToHaveURLAsync(DetailsUrl());
        await Expect(Page.GetByTestId("species")).ToHaveTextAsync("Adelie");
    }

    [Test]
    public async Task Markup_typed_into_a_field_is_shown_as_text_and_never_runs()
    {
        const string script = "<script>alert(1)</script>";
        const string image = "<img src=x onerror=alert(2)>";
        await OpenAsync("/");
        await Field("Bill length").FillAsync(script);
        await Field("Bill depth").FillAsync(image);
        await Field("Flipper length").FillAsync("181");
        await Field("Body mass").FillAsync("3750");
        await Button("Predict").ClickAsync();

        await Expect(Page.GetByTestId("error-billLengthMm")).ToContainTextAsync(script);
        await Expect(Page.GetByTestId("error-billDepthMm")).ToContainTextAsync(image);
        await Expect(Field("Bill length")).ToHaveValueAsync(script);
        await Expect(Field("Bill depth")).ToHaveValueAsync(image);
        Assert.Multiple(async () =>
        {
            Assert.That(await Page.Locator("main script").CountAsync(), Is.Zero, "no script element was injected");
            Assert.That(await Page.Locator("main img").CountAsync(), Is.Zero, "no image element was injected");
        });
        // A dialog, had one opened, is reported by the page watcher when the test ends.
    }

    [GeneratedRegex(@"/Predictions/(\d+)$")]
    private static partial Regex DetailsUrl();
}

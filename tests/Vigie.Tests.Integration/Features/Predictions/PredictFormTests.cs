using System.Net;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Features.Predictions;

public sealed class PredictFormTests
{
    private static FormUrlEncodedContent Form(string token, string bill, string depth = "18.7", string flipper = "181", string mass = "3750") => new(new Dictionary<string, string>
    {
        ["__RequestVerificationToken"] = token,
        ["Input.BillLengthMm"] = bill,
        ["Input.BillDepthMm"] = depth,
        ["Input.FlipperLengthMm"] = flipper,
        ["Input.BodyMassG"] = mass,
    });

    [Test]
    public async Task A_form_prediction_is_stored_with_channel_form_and_shown_on_its_page()
    {
        using var client = NewClient();
        var token = await AntiforgeryTokenAsync(client, "/");
        using var form = Form(token, "46.1", "13.2", "211", "4500");
        using var posted = await client.PostAsync(new Uri("/", UriKind.Relative), form);
        var location = posted.Headers.Location?.ToString();
        var id = long.Parse(location!.Split('/')[^1], System.Globalization.CultureInfo.InvariantCulture);
        var page = await client.GetStringAsync(new Uri(location, UriKind.Relative));

        Assert.Multiple(async () =>
        {
            Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(location, Does.Match("^/Predictions/[0-9]+$"));
            Assert.That(page, Does.Contain("data-testid=\"species\">Gentoo<"));
            Assert.That(page, Does.Match("data-testid=\"confidence\">[0-9.]+ % confident"));
            Assert.That(await CountAsync($"id = {id} AND channel = 'form'"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task An_invalid_value_is_reported_beside_its_field_the_others_are_kept_and_nothing_is_stored()
    {
        var before = await CountAsync();
        using var client = NewClient();
        var token = await AntiforgeryTokenAsync(client, "/");
        using var form = Form(token, "39.1", flipper: "999");
        using var response = await client.PostAsync(new Uri("/", UriKind.Relative), form);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(html, Does.Contain("data-testid=\"error-flipperLengthMm\">Flipper length must be between 100 and 300 mm."));
            Assert.That(html, Does.Contain("value=\"39.1\""), "the valid values are kept");
            Assert.That(html, Does.Contain("value=\"999\""), "the invalid value is shown for correction");
            Assert.That(await CountAsync(), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task Text_in_a_number_field_is_reported_encoded_and_nothing_is_stored()
    {
        var before = await CountAsync();
        using var client = NewClient();
        var token = await AntiforgeryTokenAsync(client, "/");
        using var form = Form(token, "<script>alert(1)</script>");
        using var response = await client.PostAsync(new Uri("/", UriKind.Relative), form);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(html, Does.Contain("data-testid=\"error-billLengthMm\""));
            Assert.That(html, Does.Not.Contain("<script>alert(1)</script>"));
            Assert.That(html, Does.Contain("&lt;script&gt;alert(1)&lt;/script&gt;"));
            Assert.That(await CountAsync(), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task A_form_post_without_antiforgery_token_is_rejected_and_stores_nothing()
    {
        var before = await CountAsync();
        using var client = NewClient();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.BillLengthMm"] = "39.1", ["Input.BillDepthMm"] = "18.7", ["Input.FlipperLengthMm"] = "181", ["Input.BodyMassG"] = "3750",
        });
        using var response = await client.PostAsync(new Uri("/", UriKind.Relative), form);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(await CountAsync(), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task Feedback_from_the_prediction_page_is_recorded()
    {
        using var client = NewClient();
        var token = await AntiforgeryTokenAsync(client, "/");
        using var form = Form(token, "39.1");
        using var posted = await client.PostAsync(new Uri("/", UriKind.Relative), form);
        var page = posted.Headers.Location!.ToString();
        var id = page.Split('/')[^1];

        var feedbackToken = await AntiforgeryTokenAsync(client, page);
        using var feedback = new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = feedbackToken, ["ActualSpecies"] = "Gentoo" });
        using var recorded = await client.PostAsync(new Uri(page + "?handler=Feedback", UriKind.Relative), feedback);
        var after = await client.GetStringAsync(new Uri(page, UriKind.Relative));

        Assert.Multiple(async () =>
        {
            Assert.That(recorded.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(after, Does.Contain("True species: <strong>Gentoo</strong>"));
            Assert.That(after, Does.Contain("Thank you"));
            Assert.That(await Database.ScalarAsync<string>($"SELECT actual_species FROM predictions WHERE id = {id}"), Is.EqualTo("Gentoo"));
        });
    }

    [Test]
    public async Task An_unknown_prediction_page_is_a_designed_404()
    {
        using var client = NewClient();
        using var response = await client.GetAsync(new Uri("/Predictions/987654321", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(html, Does.Contain("data-testid=\"error-page\""));
            Assert.That(html, Does.Contain("Prediction not found"));
            Assert.That(html, Does.Contain("There is no prediction #987654321"));
        });
    }

    [Test]
    public async Task An_unknown_page_says_there_is_nothing_at_the_address_and_does_not_speak_of_predictions()
    {
        using var client = NewClient();
        using var response = await client.GetAsync(new Uri("/no-such-page", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(html, Does.Contain("Page not found").And.Contain("There is nothing at this address"));
            Assert.That(html, Does.Not.Contain("prediction may not exist"));
        });
    }

    [Test]
    public async Task One_submit_reports_every_field_error_at_once_not_a_number_out_of_range_and_missing()
    {
        using var client = NewClient();
        var token = await AntiforgeryTokenAsync(client, "/");
        using var response = await client.PostAsync(new Uri("/", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.BillLengthMm"] = "abc",
            ["Input.BillDepthMm"] = "99",
            ["Input.FlipperLengthMm"] = "",
            ["Input.BodyMassG"] = "3500",
            ["__RequestVerificationToken"] = token,
        }));
        var html = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(html, Does.Contain("data-testid=\"error-billLengthMm\""));
            Assert.That(html, Does.Contain("data-testid=\"error-billDepthMm\""), "out of range, on the same submit");
            Assert.That(html, Does.Contain("data-testid=\"error-flipperLengthMm\""), "missing, on the same submit");
            Assert.That(html, Does.Not.Contain("data-testid=\"error-bodyMassG\""));
            Assert.That(html, Does.Contain("3 values need correcting"));
        });
    }
}

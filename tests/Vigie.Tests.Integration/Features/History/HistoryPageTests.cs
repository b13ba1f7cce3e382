using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Features.History;

public sealed partial class HistoryPageTests
{
    [Test]
    public async Task History_filters_by_species_and_channel_and_pages_to_older_predictions()
    {
        using var client = NewClient();
        for (var i = 0; i < 30; i++)
        {
            using var response = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 46.5, billDepthMm = 17.9, flipperLengthMm = 192, bodyMassG = 3500 + i });
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        }
        var first = await client.GetStringAsync(new Uri("/History?species=Chinstrap&channel=api", UriKind.Relative));
        var older = OlderLink().Match(first);
        Assert.That(older.Success, Is.True, "a full page links to older predictions");
        var second = await client.GetStringAsync(new Uri(WebUtility.HtmlDecode(older.Groups[1].Value), UriKind.Relative));

        var firstIds = RowIds().Matches(first).Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var secondIds = RowIds().Matches(second).Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(firstIds, Has.Count.EqualTo(25));
            Assert.That(firstIds, Is.Ordered.Descending);
            Assert.That(secondIds, Is.Not.Empty);
            Assert.That(secondIds.Max(), Is.LessThan(firstIds.Min()));
            Assert.That(SpeciesCells().Matches(first).Select(m => m.Groups[1].Value), Has.All.EqualTo("Chinstrap"));
            Assert.That(first, Does.Contain("<option value=\"Chinstrap\" selected=\"selected\">"));
        });
    }

    [Test]
    public async Task History_filtered_by_a_batch_lists_only_that_batchs_rows()
    {
        using var client = NewClient();
        async Task<Guid> UploadAsync(int rows)
        {
            using var upload = new MultipartFormDataContent
            {
                { new StringContent("bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n" + string.Concat(Enumerable.Repeat("39.1,18.7,181,3750\n", rows))), "file", "rows.csv" },
            };
            using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
            return (await ReadJsonAsync(response)).GetProperty("batchId").GetGuid();
        }
        var mine = await UploadAsync(3);
        await UploadAsync(4);

        var page = await client.GetStringAsync(new Uri($"/History?batch={mine}", UriKind.Relative));
        using var bad = await client.GetAsync(new Uri("/History?batch=nope", UriKind.Relative));
        Assert.Multiple(() =>
        {
            Assert.That(RowIds().Matches(page), Has.Count.EqualTo(3));
            Assert.That(page, Does.Contain("data-testid=\"batch-filter\"").And.Contain($"href=\"/Batch?id={mine}\""));
            Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        });
    }

    [Test]
    public async Task An_empty_filter_shows_the_designed_empty_state_and_a_bad_one_a_message()
    {
        using var client = NewClient();
        var emptyCursor = await client.GetStringAsync(new Uri("/History?cursor=1", UriKind.Relative));
        using var bad = await client.GetAsync(new Uri("/History?species=<b>Emperor</b>", UriKind.Relative));
        var badHtml = await bad.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(emptyCursor, Does.Contain("data-testid=\"empty-history\""));
            Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(badHtml, Does.Contain("species must be one of Adelie, Chinstrap, Gentoo."));
            Assert.That(badHtml, Does.Not.Contain("<b>Emperor</b>"));
        });
    }

    [GeneratedRegex("<a class=\"button\" rel=\"next\" href=\"([^\"]+)\">")]
    private static partial Regex OlderLink();

    [GeneratedRegex("<td><a href=\"/Predictions/([0-9]+)\">")]
    private static partial Regex RowIds();

    [GeneratedRegex("<td><span class=\"species species-[a-z]+\">([A-Za-z]+)</span></td>")]
    private static partial Regex SpeciesCells();
}

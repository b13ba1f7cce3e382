using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Features.Batches;

public sealed class BatchUploadTests
{
    private const string Header = "id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,note";

    private static MultipartFormDataContent Upload(string csv, string fileName = "penguins.csv", string field = "file")
    {
        var content = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(csv));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        content.Add(file, field, fileName);
        return content;
    }

    /// <summary>10,000 valid rows with 10 malformed ones spread through them; returns the CSV and the malformed lines.</summary>
    private static (string Csv, int[] BadLines) TenThousandAndTenBad()
    {
        var random = new Random(11);
        var lines = new List<string> { Header };
        var bad = new[] { "abc,18,190,4000", "40,18,,4000", "40,18,190,99999", "40,18,190", "NaN,18,190,4000", "-5,18,190,4000", "40,x,190,4000", "40,18,1e999,4000", "40;18;190;4000", "40,18,190,4000,extra,cols" };
        var badLines = new List<int>();
        for (var i = 0; i < 10_000; i++)
        {
            if (i % 1000 == 500)
            {
                badLines.Add(lines.Count + 1);
                lines.Add($"bad{badLines.Count},{bad[badLines.Count - 1]},x");
            }
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"row{i},{random.Next(350, 550) / 10.0},{random.Next(140, 200) / 10.0},{random.Next(175, 230)},{random.Next(3000, 6000)},ok"));
        }
        return (string.Join('\n', lines) + '\n', badLines.ToArray());
    }

    [Test]
    public async Task Ten_thousand_rows_with_ten_malformed_store_exactly_the_valid_ones_and_report_each_bad_line()
    {
        var (csv, badLines) = TenThousandAndTenBad();
        var before = await CountAsync();
        using var client = NewClient();
        using var upload = Upload(csv);
        using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        var report = await ReadJsonAsync(response);
        var batchId = report.GetProperty("batchId").GetGuid();

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), report.ToString());
            Assert.That(report.GetProperty("accepted").GetInt32(), Is.EqualTo(10_000));
            Assert.That(report.GetProperty("rejected").GetInt32(), Is.EqualTo(10));
            Assert.That(report.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("line").GetInt32()), Is.EqualTo(badLines));
            Assert.That(report.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("message").GetString()), Has.All.Not.Empty);
            Assert.That(await CountAsync($"batch_id = '{batchId}' AND channel = 'batch'"), Is.EqualTo(10_000));
            Assert.That(await CountAsync(), Is.EqualTo(before + 10_000));
            Assert.That(await Database.ScalarAsync<long>($"SELECT count(*) FROM batch_rejections WHERE batch_id = '{batchId}'"), Is.EqualTo(10));
        });
    }

    [Test]
    public async Task An_upload_answers_201_with_the_location_of_the_batch_resource_which_links_its_results_and_page()
    {
        using var client = NewClient();
        using var upload = Upload(Header + "\na,39.1,18.7,181,3750,x\nb,abc,18.7,181,3750,y\n");
        using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        var batchId = (await ReadJsonAsync(response)).GetProperty("batchId").GetGuid();
        using var resource = await client.GetAsync(response.Headers.Location);
        var batch = await ReadJsonAsync(resource);
        using var results = await client.GetAsync(new Uri(batch.GetProperty("links").GetProperty("results").GetString()!, UriKind.Relative));
        using var page = await client.GetAsync(new Uri(batch.GetProperty("links").GetProperty("page").GetString()!, UriKind.Relative));
        using var missing = await client.GetAsync(new Uri($"/api/batches/{Guid.NewGuid()}", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo($"/api/batches/{batchId}"));
            Assert.That(resource.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(batch.GetProperty("id").GetGuid(), Is.EqualTo(batchId));
            Assert.That(batch.GetProperty("fileName").GetString(), Is.EqualTo("penguins.csv"));
            Assert.That((batch.GetProperty("accepted").GetInt32(), batch.GetProperty("rejected").GetInt32()), Is.EqualTo((1, 1)));
            Assert.That(batch.GetProperty("rejections")[0].GetProperty("line").GetInt32(), Is.EqualTo(3));
            Assert.That(results.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/csv"));
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(missing.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        });
    }

    [Test]
    public async Task An_upload_over_the_limit_gets_413_and_stores_nothing()
    {
        var before = await CountAsync();
        var batches = await Database.ScalarAsync<long>("SELECT count(*) FROM batches");
        var row = "1,39.1,18.7,181,3750,padding-padding-padding-padding-padding\n";
        var csv = Header + "\n" + string.Concat(Enumerable.Repeat(row, 5 * 1024 * 1024 / row.Length + 10));
        using var client = NewClient();
        using var upload = Upload(csv);
        using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(await CountAsync(), Is.EqualTo(before));
            Assert.That(await Database.ScalarAsync<long>("SELECT count(*) FROM batches"), Is.EqualTo(batches));
        });
    }

    [Test]
    public async Task The_results_csv_carries_extra_columns_and_neutralises_formulas()
    {
        const string csv = "id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,note\n" +
                           "p1,39.1,18.7,181,3750,\"plain, with comma\"\n" +
                           "p2,46.1,13.2,211,4500,=cmd|' /C calc'!A0\n" +
                           "p3,bad,13.2,211,4500,x\n";
        using var client = NewClient();
        using var upload = Upload(csv);
        using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        var batchId = (await ReadJsonAsync(response)).GetProperty("batchId").GetGuid();
        using var download = await client.GetAsync(new Uri($"/api/batches/{batchId}/results.csv", UriKind.Relative));
        var lines = (await download.Content.ReadAsStringAsync()).TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(download.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/csv"));
            Assert.That(lines[0], Does.StartWith("line,id,note,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,species,confidence"));
            Assert.That(lines, Has.Length.EqualTo(3), "the rejected row is not in the results");
            Assert.That(lines[1], Does.StartWith("2,p1,\"plain, with comma\",39.1,18.7,181,3750,Adelie,"));
            Assert.That(lines[2], Does.StartWith("3,p2,'=cmd|' /C calc'!A0,46.1,13.2,211,4500,Gentoo,"));
        });
    }

    [Test]
    public async Task Missing_file_wrong_media_type_and_unusable_header_are_problems_that_store_nothing()
    {
        var before = await CountAsync();
        using var client = NewClient();
        using var noFile = new MultipartFormDataContent { { new StringContent("x"), "other" } };
        using var missing = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), noFile);
        using var json = new StringContent("{}", Encoding.UTF8, "application/json");
        using var wrongType = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), json);
        using var semicolons = Upload("bill_length_mm;bill_depth_mm;flipper_length_mm;body_mass_g\n39.1;18.7;181;3750\n");
        using var badHeader = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), semicolons);

        Assert.Multiple(async () =>
        {
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await ReadJsonAsync(missing)).GetProperty("errors").TryGetProperty("file", out _), Is.True);
            Assert.That(wrongType.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
            Assert.That(badHeader.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await ReadJsonAsync(badHeader)).GetProperty("detail").GetString(), Does.Contain("header row"));
            Assert.That(await CountAsync(), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task Rows_unlike_the_training_data_are_counted_in_the_report_and_flagged_in_the_results_csv()
    {
        const string csv = "id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n" +
                           "typical,39.1,18.7,181,3750\n" +
                           "unlike,99,39,110,9999\n" +
                           "heavy,47,15,217,7400\n";
        using var client = NewClient();
        using var upload = Upload(csv);
        using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        var report = await ReadJsonAsync(response);
        var batchId = report.GetProperty("batchId").GetGuid();
        using var download = await client.GetAsync(new Uri($"/api/batches/{batchId}/results.csv", UriKind.Relative));
        var lines = (await download.Content.ReadAsStringAsync()).TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var page = await client.GetStringAsync(new Uri($"/Batch?id={batchId}", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(report.GetProperty("accepted").GetInt32(), Is.EqualTo(3));
            Assert.That(report.GetProperty("outOfDistribution").GetInt32(), Is.EqualTo(2));
            Assert.That(lines[0], Does.EndWith(",prediction_id,model_version,out_of_distribution,ood_score,ood_features"));
            Assert.That(lines[1], Does.Match(",false,0.000,$"));
            Assert.That(lines[2], Does.Match(",true,[0-9.]+,bill_length_mm bill_depth_mm flipper_length_mm body_mass_g$"));
            Assert.That(lines[3], Does.Match(",true,[0-9.]+,body_mass_g$"));
            Assert.That(page, Does.Contain("data-testid=\"out-of-distribution\">2<"));
            Assert.That(page, Does.Contain("unlike the birds this model was trained on"));
        });
    }

    [Test]
    public async Task The_batch_page_uploads_reports_and_encodes_the_file_name()
    {
        using var client = NewClient();
        var token = await AntiforgeryTokenAsync(client, "/Batch");
        using var form = Upload("bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n39.1,18.7,181,3750\nabc,18.7,181,3750\n", "<img src=x onerror=alert(1)>.csv", "Upload");
        form.Add(new StringContent(token), "__RequestVerificationToken");
        using var posted = await client.PostAsync(new Uri("/Batch", UriKind.Relative), form);
        var report = await client.GetStringAsync(posted.Headers.Location!);

        Assert.Multiple(() =>
        {
            Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(report, Does.Contain("data-testid=\"accepted\">1<"));
            Assert.That(report, Does.Contain("data-testid=\"rejected\">1<"));
            Assert.That(report, Does.Contain("<td class=\"num\">3</td><td><code>abc,18.7,181,3750</code></td><td>bill_length_mm: &#x27;abc&#x27; is not a number.</td>"));
            Assert.That(report, Does.Not.Contain("<img src=x"));
            Assert.That(report, Does.Contain("&lt;img src=x onerror=alert(1)&gt;.csv"));
        });
    }

    [Test]
    public async Task An_upload_with_its_own_species_column_keeps_it_and_the_report_gives_the_accuracy_against_it()
    {
        const string csv = "id,species,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n"
            + "a,Adelie,39.1,18.7,181,3750\n"
            + "b,gentoo ,46.1,13.2,211,4500\n"
            + "c,Gentoo,39.1,18.7,181,3750\n"
            + "d,unknown,46.1,13.2,211,4500\n";
        using var client = NewClient();
        using var upload = Upload(csv);
        using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        var batchId = (await ReadJsonAsync(response)).GetProperty("batchId").GetGuid();

        var results = (await client.GetStringAsync(new Uri($"/api/batches/{batchId}/results.csv", UriKind.Relative))).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var report = await client.GetStringAsync(new Uri($"/Batch?id={batchId}", UriKind.Relative));
        Assert.Multiple(() =>
        {
            Assert.That(results[0], Does.StartWith("line,id,species,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,predicted_species,confidence,"));
            Assert.That(results[0].Split(',').Count(c => c == "species"), Is.EqualTo(1), "one column named species: the upload's");
            Assert.That(results[1], Does.StartWith("2,a,Adelie,39.1,18.7,181,3750,Adelie,"));
            Assert.That(results[2], Does.StartWith("3,b,gentoo,46.1,13.2,211,4500,Gentoo,"));
            // Three rows name a species (any case); two of them match the prediction.
            Assert.That(report, Does.Contain("data-testid=\"batch-accuracy\""));
            Assert.That(report, Does.Contain("66.7 %").And.Contain("2 of the 3 rows"));
            Assert.That(report, Does.Contain($"href=\"/History?batch={batchId}\""));
        });
    }

    [Test]
    public async Task The_batch_report_shows_the_species_summary_the_first_rows_and_a_neutral_tile_when_nothing_was_rejected()
    {
        using var client = NewClient();
        using var upload = Upload("bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n39.1,18.7,181,3750\n46.1,13.2,211,4500\n46.5,17.9,192,3500\n");
        using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        var batchId = (await ReadJsonAsync(response)).GetProperty("batchId").GetGuid();
        var report = await client.GetStringAsync(new Uri($"/Batch?id={batchId}", UriKind.Relative));
        var summary = Regex.Match(report, "data-testid=\"species-summary\">(.*?)</ul>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Multiple(() =>
        {
            Assert.That(Regex.Matches(summary, "<li>"), Has.Count.EqualTo(3), "every species, with its count");
            Assert.That(Regex.Matches(report, "<tr>\\s*<td class=\"num\"><a href=\"/Predictions/\\d+\">\\d</a></td>"), Has.Count.EqualTo(3), "the predicted rows, each linking its prediction");
            Assert.That(report, Does.Contain("<p class=\"stat\" data-testid=\"rejected-tile\">"), "no red tile for zero rejections");
            Assert.That(report, Does.Not.Contain("data-testid=\"batch-accuracy\""), "no species column, no accuracy");
        });
    }

    [Test]
    public async Task Rejections_past_the_first_thousand_are_counted_as_omitted_and_neither_stored_nor_listed()
    {
        var csv = "bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n39.1,18.7,181,3750\n" + string.Concat(Enumerable.Repeat("abc,18.7,181,3750\n", 1_500));
        using var client = NewClient();
        using var upload = Upload(csv);
        using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        var report = await ReadJsonAsync(response);
        var batchId = report.GetProperty("batchId").GetGuid();
        var page = await client.GetStringAsync(new Uri($"/Batch?id={batchId}", UriKind.Relative));

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), report.ToString());
            Assert.That(report.GetProperty("accepted").GetInt32(), Is.EqualTo(1));
            Assert.That(report.GetProperty("rejected").GetInt32(), Is.EqualTo(1_500));
            Assert.That(report.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("line").GetInt32()), Is.EqualTo(Enumerable.Range(3, 1_000)));
            Assert.That(report.GetProperty("rejectionsOmitted").GetInt32(), Is.EqualTo(500));
            Assert.That(await Database.ScalarAsync<long>($"SELECT count(*) FROM batch_rejections WHERE batch_id = '{batchId}'"), Is.EqualTo(1_000));
            Assert.That(page, Does.Contain("Rejected lines (the first 1,000)"));
            Assert.That(page, Does.Contain("data-testid=\"rejections-omitted\">500 more rejected lines were counted but not stored."));
        });
    }

    [Test]
    public async Task A_batch_whose_rejections_are_all_listed_omits_none()
    {
        using var client = NewClient();
        using var upload = Upload("bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n39.1,18.7,181,3750\nabc,18.7,181,3750\n");
        using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        var report = await ReadJsonAsync(response);
        var page = await client.GetStringAsync(new Uri($"/Batch?id={report.GetProperty("batchId").GetGuid()}", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(report.GetProperty("rejected").GetInt32(), Is.EqualTo(1));
            Assert.That(report.GetProperty("rejectionsOmitted").GetInt32(), Is.Zero);
            Assert.That(page, Does.Not.Contain("rejections-omitted"));
        });
    }
}

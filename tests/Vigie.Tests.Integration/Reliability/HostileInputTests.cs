using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsvHelper;

namespace Vigie.Tests.Reliability;

/// <summary>
/// Hostile and malformed input on real Kestrel, beyond the bad-input cases of Features/: what a careless or malicious
/// client sends must be answered with the right status, store nothing it should not, and come back out intact and
/// harmless. (Covered there already: invalid JSON fields, SQL/HTML in number fields and feedback, semicolon headers,
/// short/long rows, an upload over the limit through the API, the =cmd formula, an HTML file name on the report.)
/// </summary>
[NonParallelizable]
public sealed partial class HostileInputTests : KestrelAppFixture
{
    private const string Header = "bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g";

    private HttpClient Client(CookieContainer? cookies = null) => App.NewKestrelClient(cookies);

    private static MultipartFormDataContent Upload(byte[] content, string fileName = "penguins.csv", string field = "file")
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, field, fileName);
        return form;
    }

    private static MultipartFormDataContent Upload(string csv, string fileName = "penguins.csv", string field = "file") =>
        Upload(Encoding.UTF8.GetBytes(csv), fileName, field);

    private async Task<(HttpResponseMessage Response, JsonElement Body)> PostBatchAsync(HttpContent upload)
    {
        using var client = Client();
        var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<string[][]> ResultsAsync(Guid batchId)
    {
        using var client = Client();
        var text = await client.GetStringAsync(new Uri($"/api/batches/{batchId}/results.csv", UriKind.Relative));
        using var csv = new CsvParser(new StringReader(text), CultureInfo.InvariantCulture);
        var records = new List<string[]>();
        while (await csv.ReadAsync())
        {
            records.Add(csv.Record!);
        }
        return records.ToArray();
    }

    private async Task<long> BatchCountAsync() => await App.Cluster.ScalarAsync("SELECT count(*) FROM batches");

    // ---------------------------------------------------------------- CSV shapes

    [Test]
    public async Task A_byte_order_mark_and_CRLF_line_endings_read_like_any_other_file()
    {
        var csv = "\uFEFFtag," + Header + "\r\nbom-1,39.1,18.7,181,3750\r\nbom-2,abc,18.7,181,3750\r\nbom-3,46.1,13.2,211,4500\r\n";
        var (response, report) = await PostBatchAsync(Upload(Encoding.UTF8.GetBytes(csv)));
        var batchId = report.GetProperty("batchId").GetGuid();
        var columns = await App.RowsAsync($"SELECT extra_columns FROM batches WHERE id = '{batchId}'");

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(report.GetProperty("accepted").GetInt32(), Is.EqualTo(2));
            Assert.That(report.GetProperty("errors")[0].GetProperty("line").GetInt32(), Is.EqualTo(3), "CRLF counts one line per row");
            Assert.That((string[])columns[0][0]!, Is.EqualTo(new[] { "tag" }), "the BOM is not part of the first column's name");
        });
    }

    [Test]
    public async Task A_tab_separated_file_is_refused_whole_with_a_hint_and_stores_nothing()
    {
        var batches = await BatchCountAsync();
        var (response, problem) = await PostBatchAsync(Upload(Header.Replace(',', '\t') + "\n39.1\t18.7\t181\t3750\n"));
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("separated by commas"));
            Assert.That(await BatchCountAsync(), Is.EqualTo(batches));
        });
    }

    [Test]
    public async Task Quoted_fields_keep_commas_quotes_and_line_breaks_and_quoted_numbers_are_read()
    {
        const string note = "a, \"quoted\" note\nover two lines";
        var csv = "note," + Header + "\n" +
                  "\"a, \"\"quoted\"\" note\nover two lines\",\"39.1\",\"18.7\",\"181\",\"3750\"\n" +
                  "plain,46.1,13.2,211,4500\n";
        var (response, report) = await PostBatchAsync(Upload(csv));
        var batchId = report.GetProperty("batchId").GetGuid();
        var stored = await App.RowsAsync($"SELECT batch_extra_values[1] FROM predictions WHERE batch_id = '{batchId}' ORDER BY batch_line");
        var results = await ResultsAsync(batchId);

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(report.GetProperty("accepted").GetInt32(), Is.EqualTo(2));
            Assert.That(stored.Select(r => (string)r[0]!), Is.EqualTo(new[] { note, "plain" }));
            Assert.That(results[1][1], Is.EqualTo(note), "returned intact in the results CSV");
            Assert.That(results[2][0], Is.EqualTo("4"), "the line after a two-line record is line 4");
        });
    }

    [Test]
    public async Task More_extra_columns_than_carried_through_are_refused_whole()
    {
        var extra = string.Join(',', Enumerable.Range(1, 21).Select(i => $"x{i}"));
        var (response, problem) = await PostBatchAsync(Upload($"{Header},{extra}\n39.1,18.7,181,3750{new string(',', 21)}\n"));
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("20 extra columns"));
        });
    }

    [Test]
    public async Task A_one_megabyte_line_stops_the_reading_there_and_the_rows_before_it_are_kept()
    {
        var csv = "note," + Header + "\n" +
                  "ok1,39.1,18.7,181,3750\nok2,46.1,13.2,211,4500\n" +
                  new string('A', 1024 * 1024) + ",39.1,18.7,181,3750\n" +
                  "after,39.1,18.7,181,3750\n";
        var started = DateTime.UtcNow;
        var (response, report) = await PostBatchAsync(Upload(csv));
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(report.GetProperty("accepted").GetInt32(), Is.EqualTo(2));
            Assert.That(report.GetProperty("rejected").GetInt32(), Is.EqualTo(1));
            Assert.That(report.GetProperty("errors")[0].GetProperty("message").GetString(), Does.Contain("cannot be read from this line on"));
            Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(10)));
        });
    }

    [Test]
    public async Task A_one_megabyte_header_without_a_line_break_is_refused()
    {
        var batches = await BatchCountAsync();
        var (response, _) = await PostBatchAsync(Upload(new string('b', 1024 * 1024)));
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(await BatchCountAsync(), Is.EqualTo(batches));
        });
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Binary_garbage_is_a_400_problem_never_a_500_and_stores_nothing(int seed)
    {
        var bytes = new byte[64 * 1024];
        new Random(seed).NextBytes(bytes);
        if (seed == 2)
        {
            // A gzip header, as a client compressing its upload without saying so would send.
            bytes[0] = 0x1f;
            bytes[1] = 0x8b;
        }
        var before = await App.CountAsync();
        var batches = await BatchCountAsync();
        var (response, _) = await PostBatchAsync(Upload(bytes, "garbage.csv"));
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(await App.CountAsync(), Is.EqualTo(before));
            Assert.That(await BatchCountAsync(), Is.EqualTo(batches));
        });
    }

    // ---------------------------------------------------------------- what comes back out

    [Test]
    public async Task Every_formula_prefix_in_column_names_and_values_is_neutralised_in_the_download_and_stored_as_sent()
    {
        string[] values = ["+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "=HYPERLINK(\"http://x\")"];
        var csv = new StringBuilder("\"=HYPERLINK(\"\"http://evil\"\")\"," + Header + "\n");
        foreach (var value in values)
        {
            csv.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\",39.1,18.7,181,3750\n");
        }
        var (_, report) = await PostBatchAsync(Upload(csv.ToString()));
        var batchId = report.GetProperty("batchId").GetGuid();
        var stored = await App.RowsAsync($"SELECT batch_extra_values[1] FROM predictions WHERE batch_id = '{batchId}' ORDER BY batch_line");
        var results = await ResultsAsync(batchId);

        Assert.Multiple(() =>
        {
            Assert.That(report.GetProperty("accepted").GetInt32(), Is.EqualTo(values.Length));
            Assert.That(stored.Select(r => (string)r[0]!), Is.EqualTo(values), "stored exactly as uploaded");
            Assert.That(results[0][1], Is.EqualTo("'=HYPERLINK(\"http://evil\")"));
            Assert.That(results.Skip(1).Select(r => r[1]), Is.EqualTo(values.Select(v => "'" + v)), "every cell starts with an apostrophe");
        });
    }

    [Test]
    public async Task Unicode_in_the_file_name_column_names_and_values_is_stored_and_returned_intact()
    {
        const string fileName = "manchots-Île-企鹅-🐧-بطريق-e\u0301.csv";
        string[] columns = ["île", "名前", "émoji🐧"];
        string[] values = ["Dumont d’Urville", "アデリー", "🐧🧊 \u202Eevil\u202C e\u0301"];
        var csv = $"{string.Join(',', columns)},{Header}\n{string.Join(',', values)},39.1,18.7,181,3750\n";
        var (response, report) = await PostBatchAsync(Upload(csv, fileName));
        var batchId = report.GetProperty("batchId").GetGuid();
        var batch = await App.RowsAsync($"SELECT file_name, extra_columns FROM batches WHERE id = '{batchId}'");
        var stored = await App.RowsAsync($"SELECT batch_extra_values FROM predictions WHERE batch_id = '{batchId}'");
        var results = await ResultsAsync(batchId);
        using var client = Client();
        var page = WebUtility.HtmlDecode(await client.GetStringAsync(new Uri($"/Batch?id={batchId}", UriKind.Relative)));

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(batch[0][0], Is.EqualTo(fileName));
            Assert.That((string[])batch[0][1]!, Is.EqualTo(columns));
            Assert.That((string[])stored[0][0]!, Is.EqualTo(values));
            Assert.That(results[0].Skip(1).Take(3), Is.EqualTo(columns));
            Assert.That(results[1].Skip(1).Take(3), Is.EqualTo(values));
            Assert.That(page, Does.Contain(fileName), "the report page shows the file name");
        });
    }

    [Test]
    public async Task SQL_and_HTML_payloads_are_stored_literally_and_rendered_encoded()
    {
        // No '/' in it: the file name's path part would be dropped (see BatchService.SafeFileName).
        const string fileName = "x'); DROP TABLE predictions;-- <svg onload=alert(1)>.csv";
        const string sqlValue = "'); DELETE FROM batches; --";
        const string htmlValue = "<img src=x onerror=alert(1)>";
        var csv = $"note,{Header}\n\"{sqlValue}\",39.1,18.7,181,3750\n{htmlValue},39.1,18.7,181,3750\nbad,<b>bold</b>,18.7,181,3750\n";
        var batchesBefore = await BatchCountAsync();
        var (_, report) = await PostBatchAsync(Upload(csv, fileName));
        var batchId = report.GetProperty("batchId").GetGuid();
        using var client = Client();
        var page = await client.GetStringAsync(new Uri($"/Batch?id={batchId}", UriKind.Relative));
        var stored = await App.RowsAsync($"SELECT batch_extra_values[1] FROM predictions WHERE batch_id = '{batchId}' ORDER BY batch_line");
        var storedName = await App.RowsAsync($"SELECT file_name FROM batches WHERE id = '{batchId}'");
        using var history = await client.GetAsync(new Uri("/History?species=%3Cscript%3Ealert(2)%3C/script%3E&channel=%27%20OR%201%3D1--", UriKind.Relative));
        var historyPage = await history.Content.ReadAsStringAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(storedName[0][0], Is.EqualTo(fileName), "the file name is stored as sent");
            Assert.That(stored.Select(r => (string)r[0]!), Is.EqualTo(new[] { sqlValue, htmlValue }));
            Assert.That(await BatchCountAsync(), Is.EqualTo(batchesBefore + 1), "no statement ran from a value");
            Assert.That(page, Does.Not.Contain("<svg onload"));
            Assert.That(page, Does.Contain("&lt;svg onload=alert(1)&gt;.csv"));
            Assert.That(page, Does.Not.Contain("<b>bold</b>"), "the rejected value is quoted in its reason, encoded");
            Assert.That(page, Does.Contain("&lt;b&gt;bold&lt;/b&gt;"));
            Assert.That(history.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(historyPage, Does.Not.Contain("<script>alert(2)"));
        });
    }

    // ---------------------------------------------------------------- forms without antiforgery token

    [Test]
    public async Task The_batch_form_without_antiforgery_token_is_rejected_and_stores_nothing()
    {
        var batches = await BatchCountAsync();
        using var client = Client();
        using var response = await client.PostAsync(new Uri("/Batch", UriKind.Relative), Upload($"{Header}\n39.1,18.7,181,3750\n", field: "Upload"));
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(await BatchCountAsync(), Is.EqualTo(batches));
        });
    }

    [Test]
    public async Task The_feedback_form_without_antiforgery_token_is_rejected_and_records_nothing()
    {
        using var client = Client();
        using var created = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(IsolatedApp.Json)).GetProperty("id").GetInt64();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["ActualSpecies"] = "Gentoo" });
        using var response = await client.PostAsync(new Uri($"/Predictions/{id}?handler=Feedback", UriKind.Relative), form);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(await App.CountAsync($"id = {id} AND actual_species IS NULL"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_form_token_from_another_session_is_rejected()
    {
        // The token is valid, but bound to the cookie of the client that loaded the form, which this client lacks.
        using var loader = Client();
        var html = await loader.GetStringAsync(new Uri("/", UriKind.Relative));
        var token = TokenField().Match(html).Groups[1].Value;
        var before = await App.CountAsync();
        using var other = Client();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["Input.BillLengthMm"] = "39.1", ["Input.BillDepthMm"] = "18.7", ["Input.FlipperLengthMm"] = "181", ["Input.BodyMassG"] = "3750",
        });
        using var response = await other.PostAsync(new Uri("/", UriKind.Relative), form);
        Assert.Multiple(async () =>
        {
            Assert.That(token, Is.Not.Empty);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(await App.CountAsync(), Is.EqualTo(before));
        });
    }

    // ---------------------------------------------------------------- routes

    [TestCase("GET", "/api/predictions/abc", 404)]
    [TestCase("GET", "/api/predictions/99999999999999999999", 404)]
    [TestCase("GET", "/api/batches/00000000-0000-0000-0000-000000000000/results.csv", 404)]
    [TestCase("GET", "/api/batches/not-a-guid/results.csv", 404)]
    [TestCase("GET", "/health/nope", 404)]
    [TestCase("DELETE", "/api/predictions", 405)]
    [TestCase("PUT", "/api/predictions/1", 405)]
    public async Task Unknown_api_routes_and_methods_answer_problem_json(string method, string path, int status)
    {
        using var client = Client();
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative)));
        Assert.Multiple(() =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(status));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        });
    }

    // ---------------------------------------------------------------- size limits

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vigie.Tests.Reliability;

/// <summary>
/// Per-client limits on real Kestrel (the client is 127.0.0.1), set low so a test reaches them: each test spends the
/// budget of one limit only.
/// </summary>
[NonParallelizable]
public sealed partial class RateLimitTests : KestrelAppFixture
{
    private const string AdminToken = "rate-limit-admin-token";
    private const int SignInAttempts = 3;
    private const int Uploads = 2;
    private const int Writes = 5;

    private protected override IReadOnlyDictionary<string, string>? Settings { get; } = new Dictionary<string, string>
    {
        ["admin_token"] = AdminToken,
        ["RateLimits:SignInAttempts"] = SignInAttempts.ToString(CultureInfo.InvariantCulture),
        ["RateLimits:Uploads"] = Uploads.ToString(CultureInfo.InvariantCulture),
        ["RateLimits:Writes"] = Writes.ToString(CultureInfo.InvariantCulture),
        // Windows long enough that none ends during a test.
        ["RateLimits:SignInWindowSeconds"] = "300",
        ["RateLimits:UploadWindowSeconds"] = "300",
        ["RateLimits:WriteWindowSeconds"] = "300",
    };

    [Test]
    public async Task The_sign_in_attempt_after_the_limit_gets_429_and_a_message_on_the_form_even_with_the_right_token()
    {
        using var client = Client();
        var antiforgery = await AntiforgeryAsync(client, "/Models");
        var statuses = new List<HttpStatusCode>();
        for (var attempt = 0; attempt < SignInAttempts; attempt++)
        {
            using var wrong = await client.PostAsync(new Uri("/Models?handler=Login", UriKind.Relative), Form(antiforgery, ("Token", "wrong guess " + attempt)));
            statuses.Add(wrong.StatusCode);
        }
        using var refused = await client.PostAsync(new Uri("/Models?handler=Login", UriKind.Relative), Form(antiforgery, ("Token", AdminToken)));
        var html = await refused.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(statuses, Has.All.EqualTo(HttpStatusCode.Unauthorized), "the attempts within the limit are checked");
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(refused.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(1, 300));
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(FieldError().Match(html).Groups[1].Value, Does.StartWith("Too many sign-in attempts from this address: try again in "));
            Assert.That(refused.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("vigie_admin=", StringComparison.Ordinal)),
                Is.False, "no session, although the token was right");
        });
    }

    [Test]
    public async Task Uploads_beyond_the_limit_get_429_through_the_API_and_the_page_and_store_nothing()
    {
        using var client = Client();
        const string csv = "bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n39.1,18.7,181,3750\n";
        var accepted = new List<HttpStatusCode>();
        for (var upload = 0; upload < Uploads; upload++)
        {
            using var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), Upload(csv));
            accepted.Add(response.StatusCode);
        }
        var batches = await App.Cluster.ScalarAsync("SELECT count(*) FROM batches");
        using var api = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), Upload(csv));
        var problem = JsonDocument.Parse(await api.Content.ReadAsStringAsync()).RootElement;
        // The page shares the budget: its upload is refused too, with the designed error page.
        var antiforgery = await AntiforgeryAsync(client, "/Batch");
        using var form = Upload(csv, "Upload");
        form.Add(new StringContent(antiforgery), "__RequestVerificationToken");
        using var page = await client.PostAsync(new Uri("/Batch", UriKind.Relative), form);
        var html = await page.Content.ReadAsStringAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(accepted, Has.All.EqualTo(HttpStatusCode.Created));
            Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(api.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(429));
            Assert.That(problem.GetProperty("title").GetString(), Is.EqualTo("Too many requests"));
            Assert.That(api.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(1, 300));
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(page.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(1, 300));
            Assert.That(html, Does.Contain("data-testid=\"error-page\"").And.Contain("Too many requests"));
            Assert.That(await App.Cluster.ScalarAsync("SELECT count(*) FROM batches"), Is.EqualTo(batches), "nothing stored");
        });
    }

    private const string TooManyPredictions = "route=\"/api/predictions\",method=\"POST\",status=\"429\"";

    [Test]
    public async Task Write_API_requests_beyond_the_limit_get_429_problem_json_while_reads_go_on()
    {
        using var client = Client();
        // The registry is the test process's: other tests' 429s are in it too, so the delta is what this test caused.
        var refusedBefore = IsolatedApp.Sample(await App.MetricsAsync(), "vigie_http_requests_total", TooManyPredictions) ?? 0;
        var created = new List<HttpStatusCode>();
        for (var request = 0; request < Writes; request++)
        {
            using var response = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
            created.Add(response.StatusCode);
        }
        var stored = await App.CountAsync();
        using var refused = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        using var feedback = await client.PostAsJsonAsync("/api/predictions/1/feedback", new { actualSpecies = "Adelie" });
        using var read = await client.GetAsync(new Uri("/api/predictions?limit=1", UriKind.Relative));
        var metrics = await App.MetricsAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(created, Has.All.EqualTo(HttpStatusCode.Created));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.GetProperty("title").GetString(), Is.EqualTo("Too many requests"));
            Assert.That(refused.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(1, 300));
            Assert.That(feedback.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "feedback shares the write budget");
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK), "reads are not limited");
            Assert.That(await App.CountAsync(), Is.EqualTo(stored), "nothing stored");
            Assert.That(IsolatedApp.Sample(metrics, "vigie_http_requests_total", TooManyPredictions) - refusedBefore, Is.EqualTo(1),
                "the HTTP metrics count the 429 the client got");
        });
    }

    private HttpClient Client() => App.NewKestrelClient();

    private static MultipartFormDataContent Upload(string csv, string field = "file")
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(csv));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, field, "penguins.csv");
        return form;
    }

    private static FormUrlEncodedContent Form(string antiforgery, params (string Name, string Value)[] fields) =>
        new(fields.Select(f => KeyValuePair.Create(f.Name, f.Value)).Append(KeyValuePair.Create("__RequestVerificationToken", antiforgery)));

    private static async Task<string> AntiforgeryAsync(HttpClient client, string path)
    {
        var html = await client.GetStringAsync(new Uri(path, UriKind.Relative));
        return TokenField().Match(html) is { Success: true } match ? match.Groups[1].Value : throw new AssertionException($"No antiforgery token on {path}");
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    [GeneratedRegex("<span id=\"Token-error\" class=\"field-error\">([^<]*)</span>")]
    private static partial Regex FieldError();
}

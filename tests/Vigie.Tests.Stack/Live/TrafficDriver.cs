using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vigie.Tests.Stack.Live;

/// <summary>
/// Drives the traffic a user would: form prediction, API predictions, a batch upload, feedback, page views, errors —
/// and an operator's model lifecycle: retraining, shadow, promotion and rollback.
/// </summary>
public sealed partial class TrafficDriver(Uri webUrl) : IDisposable
{
    /// <summary>The admin token the live stack's app is started with (setting <c>admin_token</c>).</summary>
    public const string AdminToken = "live-stack-admin-token";

    private readonly HttpClient _http = new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
    {
        BaseAddress = webUrl,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public HttpClient Http => _http;

    /// <summary>
    /// Drives the traffic. <paramref name="waitForScrape"/>, when given, returns once Prometheus has scraped the app
    /// again: called around the model switches so each of them is seen (and drawn on the dashboard) on its own.
    /// </summary>
    public async Task DriveAsync(Func<Task>? waitForScrape = null)
    {
        // The form, with its antiforgery token and cookie.
        var home = await _http.GetStringAsync(new Uri("/", UriKind.Relative));
        var token = Token().Match(home).Groups[1].Value;
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["Input.BillLengthMm"] = "39.1", ["Input.BillDepthMm"] = "18.7", ["Input.FlipperLengthMm"] = "181", ["Input.BodyMassG"] = "3750",
        });
        using var posted = await _http.PostAsync(new Uri("/", UriKind.Relative), form);
        Ensure(posted, HttpStatusCode.Redirect);

        // The API: one bird of each species, then reads and a validation error.
        var ids = new List<long>();
        foreach (var bird in new[] { (39.1, 18.7, 181, 3750), (46.5, 17.9, 192, 3500), (46.1, 13.2, 211, 4500), (50.0, 15.2, 218, 5700) })
        {
            using var created = await _http.PostAsJsonAsync("/api/predictions", new { billLengthMm = bird.Item1, billDepthMm = bird.Item2, flipperLengthMm = bird.Item3, bodyMassG = bird.Item4 });
            Ensure(created, HttpStatusCode.Created);
            ids.Add((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
        }
        using var invalid = await _http.PostAsJsonAsync("/api/predictions", new { billLengthMm = -1 });
        Ensure(invalid, HttpStatusCode.BadRequest);
        (await _http.GetAsync(new Uri($"/api/predictions/{ids[0]}", UriKind.Relative))).Dispose();
        (await _http.GetAsync(new Uri("/api/predictions/999999999", UriKind.Relative))).Dispose();
        (await _http.GetAsync(new Uri("/api/predictions?limit=5", UriKind.Relative))).Dispose();

        // A batch with more rows than the drift window's minimum sample (Honesty:DriftMinimumSamples, 200), a bird unlike
        // any in the training data (flagged out of distribution), and two bad lines.
        var csv = new StringBuilder("id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n");
        var random = new Random(5);
        for (var i = 0; i < 240; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},{random.Next(340, 560) / 10.0},{random.Next(140, 210) / 10.0},{random.Next(175, 230)},{random.Next(2900, 6200)}\n");
        }
        csv.Append("unlike,99,39,110,9999\n");
        csv.Append("bad1,abc,18,190,4000\nbad2,40,18,190\n");
        using var upload = new MultipartFormDataContent { { new StringContent(csv.ToString()), "file", "traffic.csv" } };
        using var batch = await _http.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload);
        Ensure(batch, HttpStatusCode.Created);

        // Feedback: right and wrong.
        foreach (var (id, species) in new[] { (ids[0], "Adelie"), (ids[2], "Gentoo"), (ids[1], "Adelie") })
        {
            using var feedback = await _http.PostAsJsonAsync($"/api/predictions/{id}/feedback", new { actualSpecies = species });
            Ensure(feedback, HttpStatusCode.OK);
        }

        foreach (var page in new[] { "/History", "/Batch", "/api/model", "/health/ready" })
        {
            (await _http.GetAsync(new Uri(page, UriKind.Relative))).Dispose();
        }

        await DriveModelLifecycleAsync(waitForScrape ?? (() => Task.CompletedTask));
    }

    /// <summary>
    /// Feedback on batch rows, a retraining run, the candidate in shadow while predictions and their feedback arrive,
    /// then a promotion and a rollback (two model switches): the base model is active again at the end.
    /// </summary>
    private async Task DriveModelLifecycleAsync(Func<Task> waitForScrape)
    {
        using var admin = new HttpClient { BaseAddress = webUrl, Timeout = TimeSpan.FromSeconds(30) };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);

        // Feedback confirming the batch's answers: training data that keeps the candidate as accurate as the base model.
        var batch = await _http.GetFromJsonAsync<JsonElement>("/api/predictions?channel=batch&limit=30");
        foreach (var item in batch.GetProperty("items").EnumerateArray())
        {
            using var feedback = await _http.PostAsJsonAsync($"/api/predictions/{item.GetProperty("id").GetInt64()}/feedback",
                new { actualSpecies = item.GetProperty("species").GetString() });
            Ensure(feedback, HttpStatusCode.OK);
        }

        using var train = await admin.PostAsync(new Uri("/api/models/train", UriKind.Relative), null);
        Ensure(train, HttpStatusCode.Accepted);
        JsonElement run;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            await Task.Delay(200);
            run = await admin.GetFromJsonAsync<JsonElement>(train.Headers.Location);
        }
        while (run.GetProperty("status").GetString() is "queued" or "running" && DateTime.UtcNow < deadline);
        if (run.GetProperty("status").GetString() != "succeeded" || run.GetProperty("outcome").GetString() != "registered")
        {
            throw new InvalidOperationException($"Training did not register a candidate: {run}");
        }
        var candidate = run.GetProperty("candidateVersion").GetString();

        using (var shadow = await admin.PostAsync(new Uri($"/api/models/{candidate}/shadow", UriKind.Relative), null))
        {
            Ensure(shadow, HttpStatusCode.OK);
        }
        foreach (var (bird, species) in new[] { ((39.1, 18.7, 181, 3750), "Adelie"), ((46.5, 17.9, 192, 3500), "Chinstrap"), ((46.1, 13.2, 211, 4500), "Gentoo") })
        {
            using var created = await _http.PostAsJsonAsync("/api/predictions", new { billLengthMm = bird.Item1, billDepthMm = bird.Item2, flipperLengthMm = bird.Item3, bodyMassG = bird.Item4 });
            Ensure(created, HttpStatusCode.Created);
            var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
            using var feedback = await _http.PostAsJsonAsync($"/api/predictions/{id}/feedback", new { actualSpecies = species });
            Ensure(feedback, HttpStatusCode.OK);
        }

        await waitForScrape();
        using (var promote = await admin.PostAsync(new Uri($"/api/models/{candidate}/promote", UriKind.Relative), null))
        {
            Ensure(promote, HttpStatusCode.OK);
        }
        using (var byCandidate = await _http.PostAsJsonAsync("/api/predictions", new { billLengthMm = 50.0, billDepthMm = 15.2, flipperLengthMm = 218, bodyMassG = 5700 }))
        {
            Ensure(byCandidate, HttpStatusCode.Created);
        }
        await waitForScrape();
        using (var rollback = await admin.PostAsync(new Uri("/api/models/rollback", UriKind.Relative), null))
        {
            Ensure(rollback, HttpStatusCode.OK);
        }
    }

    private static void Ensure(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}, expected {(int)expected}");
        }
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex Token();
}

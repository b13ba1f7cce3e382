using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Vigie.Stack;

/// <summary>
/// <c>Vigie.Stack train [--url http://127.0.0.1:8080/]</c>, behind <c>dotnet cake --target=Train</c>: asks a running
/// stack (compose or native) to retrain a candidate from its feedback through <c>POST /api/models/train</c> with the
/// admin token of <c>secrets/admin_token</c> (or <c>VIGIE_ADMIN_TOKEN</c>), follows the run, and prints the candidate
/// beside the active model. Promoting stays a person's decision (the Models page or the API).
/// </summary>
public static class TrainCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(Uri webUrl, string token, TextWriter output, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var http = AdminClient(webUrl, token);
        output.WriteLine($"Asking {webUrl} to train a candidate on the base data plus feedback…");
        if (await TrainAsync(http, output, timeout ?? TimeSpan.FromMinutes(10)) is not { } run)
        {
            return 1;
        }
        if (run.GetProperty("status").GetString() == "failed")
        {
            output.WriteLine($"Training failed: {run.GetProperty("error").GetString()}");
            return 1;
        }
        var version = run.GetProperty("candidateVersion").GetString()!;
        if (run.GetProperty("outcome").GetString() == "unchanged")
        {
            output.WriteLine($"No new feedback since model {version}: nothing new to register.");
            return 0;
        }
        var candidate = await http.GetFromJsonAsync<JsonElement>($"/api/models/{version}", Json);
        Print(candidate, output);
        output.WriteLine();
        output.WriteLine("Next: shadow it, compare, then promote (or roll back later) on the Models page or with");
        output.WriteLine($"  curl -X POST -H \"Authorization: Bearer $(cat secrets/admin_token)\" {new Uri(webUrl, $"/api/models/{version}/shadow")}");
        output.WriteLine($"  curl -X POST -H \"Authorization: Bearer $(cat secrets/admin_token)\" {new Uri(webUrl, $"/api/models/{version}/promote")}");
        return 0;
    }

    /// <summary>A client of <paramref name="webUrl"/> sending <c>Authorization: Bearer &lt;token&gt;</c> (30 s timeout).</summary>
    public static HttpClient AdminClient(Uri webUrl, string token)
    {
        var http = new HttpClient { BaseAddress = webUrl, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>
    /// <c>POST /api/models/train</c> with <paramref name="http"/> (an <see cref="AdminClient"/>), then follows the run,
    /// printing each new stage, until it succeeds or fails: the finished run (<c>status</c>, <c>outcome</c>,
    /// <c>candidateVersion</c>, <c>error</c>), or null when the request was refused or the run did not finish within
    /// <paramref name="timeout"/> (said on <paramref name="output"/>).
    /// </summary>
    public static async Task<JsonElement?> TrainAsync(HttpClient http, TextWriter output, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(output);
        using var accepted = await http.PostAsync(new Uri("/api/models/train", UriKind.Relative), null, cancellationToken);
        if (accepted.StatusCode != HttpStatusCode.Accepted)
        {
            output.WriteLine($"Refused: {(int)accepted.StatusCode} {await accepted.Content.ReadAsStringAsync(cancellationToken)}");
            return null;
        }
        var location = accepted.Headers.Location ?? throw new InvalidOperationException("202 without a Location header.");
        var deadline = DateTime.UtcNow + timeout;
        var lastStage = string.Empty;
        while (true)
        {
            var run = await http.GetFromJsonAsync<JsonElement>(location, Json, cancellationToken);
            var stage = $"{run.GetProperty("status").GetString()}: {run.GetProperty("stage").GetString()}";
            if (stage != lastStage)
            {
                output.WriteLine($"  run {run.GetProperty("id").GetInt64()} {stage}");
                lastStage = stage;
            }
            if (run.GetProperty("status").GetString() is "succeeded" or "failed")
            {
                return run;
            }
            if (DateTime.UtcNow > deadline)
            {
                output.WriteLine("The run did not finish in time; follow it at " + (http.BaseAddress is { } baseAddress ? new Uri(baseAddress, location) : location));
                return null;
            }
            await Task.Delay(500, cancellationToken);
        }
    }

    /// <summary>The candidate's lineage and its metrics beside the active model's on the same rows.</summary>
    public static void Print(JsonElement candidate, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var lineage = candidate.GetProperty("lineage");
        output.WriteLine();
        output.WriteLine($"Candidate {candidate.GetProperty("version").GetString()}: {lineage.GetProperty("baseTrainingRows").GetInt32()} base rows + "
            + $"{lineage.GetProperty("feedbackTrainingRows").GetInt32()} feedback rows (predictions up to #{Number(lineage.GetProperty("feedbackUpToPredictionId"))}), "
            + $"{lineage.GetProperty("feedbackHeldOutRows").GetInt32()} feedback rows held out");
        if (candidate.GetProperty("comparison") is not { ValueKind: JsonValueKind.Object } comparison)
        {
            return;
        }
        output.WriteLine($"  {"evidence",-28} {"metric",-18} {"candidate",10} {"active " + comparison.GetProperty("againstVersion").GetString(),20}");
        void Rows(string evidence, JsonElement pair)
        {
            var c = pair.GetProperty("candidate");
            var a = pair.GetProperty("active");
            var rows = $"{evidence} ({c.GetProperty("rows").GetInt32()} rows)";
            output.WriteLine($"  {rows,-28} {"accuracy",-18} {Percent(c.GetProperty("accuracy")),10} {Percent(a.GetProperty("accuracy")),20}");
            output.WriteLine($"  {"",-28} {"macro-F1",-18} {c.GetProperty("macroF1").GetDouble().ToString("0.000", CultureInfo.InvariantCulture),10} {a.GetProperty("macroF1").GetDouble().ToString("0.000", CultureInfo.InvariantCulture),20}");
            foreach (var species in c.GetProperty("recall").EnumerateObject())
            {
                output.WriteLine($"  {"",-28} {"recall " + species.Name,-18} {Percent(species.Value),10} {Percent(a.GetProperty("recall").GetProperty(species.Name)),20}");
            }
        }
        Rows("held-out", comparison.GetProperty("heldOut"));
        if (comparison.GetProperty("recentFeedback") is { ValueKind: JsonValueKind.Object } recent)
        {
            Rows("recent feedback", recent);
        }
    }

    /// <summary>The web URL of the running stack: the native runner's endpoints file, else the compose port of .env.</summary>
    public static Uri WebUrl(string repositoryRoot, string? given)
    {
        if (!string.IsNullOrWhiteSpace(given))
        {
            return new Uri(given.EndsWith('/') ? given : given + "/");
        }
        if (StackClaim.Endpoints(Path.Combine(repositoryRoot, ".state", "native")) is { } native && native.TryGetValue("web", out var web))
        {
            return new Uri(web);
        }
        var env = DotEnv.Read(Path.Combine(repositoryRoot, ".env"));
        // Published on every interface (0.0.0.0), the stack is reached here through loopback: 0.0.0.0 is no host name
        // the app answers (AllowedHosts).
        var bind = env.GetValueOrDefault("BIND_ADDRESS", "127.0.0.1");
        var host = bind is "0.0.0.0" or "::" or "[::]" ? "127.0.0.1" : bind;
        return new Uri($"http://{host}:{env.GetValueOrDefault("WEB_PORT", "8080")}/");
    }

    /// <summary>The admin token: <c>VIGIE_ADMIN_TOKEN</c>, else the generated <c>secrets/admin_token</c>; null when neither exists.</summary>
    public static string? AdminToken(string repositoryRoot)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("VIGIE_ADMIN_TOKEN");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment.Trim();
        }
        var file = Path.Combine(repositoryRoot, "secrets", "admin_token");
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    private static string Percent(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString("P1", CultureInfo.InvariantCulture) : "–";

    private static string Number(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetInt64().ToString(CultureInfo.InvariantCulture) : "–";
}

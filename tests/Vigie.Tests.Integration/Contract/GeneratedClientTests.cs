using System.Text;
using System.Text.Json;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Abstractions.Serialization;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Vigie.Client;
using Vigie.Client.Models;
using Vigie.Testing;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Contract;

/// <summary>
/// The Kiota client committed in <c>Contract/Client</c> is what Kiota generates from the live document now, and it works
/// against the app: a document that lies about a field, a type or a status makes one of these tests fail.
/// </summary>
public sealed class GeneratedClientTests
{
    private const string ClientNamespace = "Vigie.Client";
    private static string CommittedClient => Path.Combine(Vigie.Testing.Infrastructure.RepositoryRoot, "tests", "Vigie.Tests.Integration", "Contract", "Client");

    [Test]
    public async Task The_committed_client_is_what_kiota_generates_from_the_live_document()
    {
        var work = Directory.CreateTempSubdirectory("vigie-kiota-");
        try
        {
            using (var http = App.CreateClient())
            {
                await File.WriteAllTextAsync(Path.Combine(work.FullName, "openapi.json"), await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
            }
            var generated = Path.Combine(work.FullName, "Client");
            var kiota = await ProcessRunner.RunAsync("dotnet", [.. RegenerateArguments(Path.Combine(work.FullName, "openapi.json"), generated)],
                timeout: TimeSpan.FromMinutes(5),
                // No usage telemetry leaves the machine; the update check fails offline and only logs a warning.
                environment: new Dictionary<string, string> { ["KIOTA_CLI_TELEMETRY_OPTOUT"] = "true" });
            Assert.That(kiota.ExitCode, Is.Zero, kiota.All);
            File.Delete(Path.Combine(generated, ".kiota.log"));

            if (Environment.GetEnvironmentVariable("VIGIE_REGENERATE_CLIENT") == "1")
            {
                Directory.Delete(CommittedClient, recursive: true);
                CopyDirectory(generated, CommittedClient);
                Assert.Pass("Contract/Client regenerated from the live document: review and commit it.");
            }
            Assert.That(Differences(generated, CommittedClient), Is.Empty,
                "The committed client is not what Kiota generates from the live document. Regenerate it with " +
                "VIGIE_REGENERATE_CLIENT=1 dotnet test tests/Vigie.Tests.Integration -c Release --filter Name~The_committed_client_is_what_kiota_generates");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>The <c>dotnet kiota generate</c> arguments that made the committed client (the README shows the same command).</summary>
    private static IEnumerable<string> RegenerateArguments(string document, string output) =>
        ["kiota", "generate", "--language", "CSharp", "--openapi", document, "--class-name", "VigieClient", "--namespace-name", ClientNamespace,
         "--output", output, "--clean-output", "--log-level", "Warning"];

    [Test]
    public async Task The_generated_client_predicts_lists_gives_feedback_and_uploads_a_batch()
    {
        var (client, answers) = NewGeneratedClient();

        var earlier = (await client.Api.Predictions.PostAsync(new PredictionRequest { BillLengthMm = 46.5, BillDepthMm = 14.8, FlipperLengthMm = 217, BodyMassG = 5200 }))!;
        answers.AssertReadFully(earlier);
        var key = Guid.NewGuid().ToString();
        var request = new PredictionRequest { BillLengthMm = 39.1, BillDepthMm = 18.7, FlipperLengthMm = 181, BodyMassG = 3750 };
        var prediction = (await client.Api.Predictions.PostAsync(request, c => c.Headers.Add("Idempotency-Key", key)))!;
        answers.AssertReadFully(prediction);
        var replay = (await client.Api.Predictions.PostAsync(request, c => c.Headers.Add("Idempotency-Key", key)))!;
        answers.AssertReadFully(replay);

        var page = (await client.Api.Predictions.GetAsync(c => { c.QueryParameters.Limit = "1"; c.QueryParameters.Channel = "api"; }))!;
        answers.AssertReadFully(page);
        var next = (await client.Api.Predictions.GetAsync(c => { c.QueryParameters.Limit = "1"; c.QueryParameters.Channel = "api"; c.QueryParameters.Cursor = page.NextCursor; }))!;
        answers.AssertReadFully(next);

        var withFeedback = (await client.Api.Predictions[prediction.Id!.Value].Feedback.PostAsync(new FeedbackRequest { ActualSpecies = "Chinstrap" }))!;
        answers.AssertReadFully(withFeedback);
        var read = (await client.Api.Predictions[prediction.Id.Value].GetAsync())!;
        answers.AssertReadFully(read);

        var upload = new MultipartBody();
        upload.AddOrReplacePart("file", "text/csv", Encoding.UTF8.GetBytes("id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\na,46.5,14.8,217,5200\nb,abc,17,190,3600\n"), "penguins.csv");
        var report = (await client.Api.Predictions.Batch.PostAsync(upload))!;
        answers.AssertReadFully(report);
        var batch = (await client.Api.Batches[report.BatchId!.Value].GetAsync())!;
        answers.AssertReadFully(batch);

        var missing = Assert.ThrowsAsync<ProblemDetails>(() => client.Api.Predictions[long.MaxValue].GetAsync());

        Assert.Multiple(() =>
        {
            Assert.That((earlier.Species, prediction.Species), Is.EqualTo(("Gentoo", "Adelie")));
            Assert.That(prediction.Channel, Is.EqualTo("api"));
            Assert.That(prediction.Probabilities!.AdditionalData.Keys, Is.EquivalentTo(new[] { "Adelie", "Chinstrap", "Gentoo" }));
            Assert.That(prediction.BatchId, Is.Null);
            Assert.That(prediction.ActualSpecies, Is.Null);
            Assert.That(replay.Id, Is.EqualTo(prediction.Id), "a retry with the same Idempotency-Key answers the stored prediction");
            Assert.That(page.Items!.Single().Id, Is.EqualTo(prediction.Id), "newest first");
            Assert.That(page.NextCursor, Is.Not.Null);
            Assert.That(next.Items!.Single().Id, Is.EqualTo(earlier.Id), "the next page goes on from the cursor");
            Assert.That(withFeedback.ActualSpecies, Is.EqualTo("Chinstrap"));
            Assert.That(read.ActualSpecies, Is.EqualTo("Chinstrap"));
            Assert.That((report.Accepted, report.Rejected), Is.EqualTo((1, 1)));
            Assert.That(report.Errors!.Single().Line, Is.EqualTo(3));
            Assert.That(batch.Id, Is.EqualTo(report.BatchId));
            Assert.That(batch.FileName, Is.EqualTo("penguins.csv"));
            Assert.That((batch.Accepted, batch.Rejected), Is.EqualTo((1, 1)));
            Assert.That(batch.Rejections!.Single().Message, Does.Contain("bill_length_mm"));
            Assert.That(batch.Links!.Results, Does.EndWith($"/api/batches/{report.BatchId}/results.csv"));
            Assert.That(missing!.ResponseStatusCode, Is.EqualTo(404));
            Assert.That(missing.Status, Is.EqualTo(404));
            Assert.That(missing.TraceId, Is.Not.Empty);
        });
    }

    [Test]
    public void A_field_the_app_does_not_send_or_one_the_client_does_not_know_fails_the_read_check()
    {
        var sent = """{"id":1,"species":"Adelie","extra":true}""";
        var declaredButMissing = new Prediction { Id = 1, Species = "Adelie" };
        var knownOnly = new RowError { Line = 2, Message = "x" };
        var wrongType = """{"line":"two","message":"x"}""";
        Assert.Multiple(() =>
        {
            Assert.That(AnswerLog.Differences(declaredButMissing, JsonDocument.Parse(sent).RootElement, "$"), Has.Some.Contains("declares billLengthMm"));
            Assert.That(AnswerLog.Differences(declaredButMissing, JsonDocument.Parse(sent).RootElement, "$"), Has.Some.Contains("extra"));
            Assert.That(AnswerLog.Differences(knownOnly, JsonDocument.Parse("""{"line":2,"message":"x"}""").RootElement, "$"), Is.Empty);
            Assert.That(AnswerLog.Differences(new RowError { Message = "x" }, JsonDocument.Parse(wrongType).RootElement, "$"), Has.Some.Contains("line"));
        });
    }

    /// <summary>
    /// The generated client on the shared app: its answers go through <see cref="ContractCheckingHandler"/> (a status,
    /// content type or body the live document does not describe fails) and are logged for <see cref="AnswerLog.AssertReadFully"/>.
    /// </summary>
    private static (VigieClient Client, AnswerLog Answers) NewGeneratedClient()
    {
        var answers = new AnswerLog();
        var http = App.CreateDefaultClient(new Uri("http://localhost"), answers, new ContractCheckingHandler(() => new ApiContract(LiveDocument.Value)));
        return (new VigieClient(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http) { BaseUrl = "http://localhost" }), answers);
    }

    private static readonly Lazy<string> LiveDocument = new(() =>
    {
        using var http = App.CreateClient();
        return http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)).GetAwaiter().GetResult();
    });

    private static List<string> Differences(string generated, string committed)
    {
        static Dictionary<string, string> Files(string root) => Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), f => Normalised(f), StringComparer.Ordinal);
        // The lock file names where the document was read from: a temporary file here, another path for whoever regenerated.
        static string Normalised(string file) => string.Join('\n', File.ReadAllLines(file).Where(l => !l.TrimStart().StartsWith("\"descriptionLocation\"", StringComparison.Ordinal)));
        var now = Files(generated);
        var before = Files(committed);
        return [.. now.Keys.Union(before.Keys).Order(StringComparer.Ordinal)
            .Where(name => !now.TryGetValue(name, out var a) || !before.TryGetValue(name, out var b) || a != b)
            .Select(name => !before.ContainsKey(name) ? $"{name}: generated, not committed" : !now.ContainsKey(name) ? $"{name}: committed, no longer generated" : $"{name}: differs")];
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

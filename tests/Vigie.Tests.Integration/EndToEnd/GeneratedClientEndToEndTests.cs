using System.Globalization;
using System.Text;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Vigie.Client;
using Vigie.Client.Models;
using Vigie.Tests.Integration.Contract;
using Vigie.Tests.Reliability;

// Outside Vigie.Tests.Integration, as the Reliability tests: the app runs on real Kestrel with a cluster of its own.
namespace Vigie.Tests.EndToEnd;

/// <summary>
/// The committed Kiota client (<c>Contract/Client</c>, checked against the live document by
/// <see cref="GeneratedClientTests"/>) used as a consumer uses it: over TCP, through Kiota's own middleware, against the
/// app on Kestrel. Every answer is checked against the live document (declared status, content type, schema) and read
/// fully by the client's models (<see cref="AnswerLog"/>): if the document lies, this test fails.
/// </summary>
public sealed class GeneratedClientEndToEndTests : KestrelAppFixture
{
    [Test]
    public async Task The_generated_client_predicts_lists_gives_feedback_and_uploads_a_batch()
    {
        var (client, answers) = await NewGeneratedClientAsync();

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

    /// <summary>The generated client with Kiota's default handlers, then the answer log and the contract check, over TCP.</summary>
    private async Task<(VigieClient Client, AnswerLog Answers)> NewGeneratedClientAsync()
    {
        var baseUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{App.Port}");
        string document;
        using (var plain = App.NewKestrelClient())
        {
            document = await plain.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        }
        var contract = new ApiContract(document);
        var answers = new AnswerLog();
        var handlers = KiotaClientFactory.CreateDefaultHandlers();
        handlers.Add(answers);
        handlers.Add(new ContractCheckingHandler(() => contract));
        var http = KiotaClientFactory.Create(handlers);
        return (new VigieClient(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http) { BaseUrl = baseUrl }), answers);
    }
}

using System.Text.Json;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Contract;

/// <summary>The oracle itself: the live document must catch what it does not describe, and describe errors and security.</summary>
public sealed class ApiContractTests
{
    private const string StoredPrediction = """
        {"id":1,"billLengthMm":39.1,"billDepthMm":18.7,"flipperLengthMm":181,"bodyMassG":3750,"species":"Adelie","confidence":0.9,
         "probabilities":{"Adelie":0.9,"Chinstrap":0.05,"Gentoo":0.05},"channel":"api","modelVersion":"abc","createdAt":"2026-12-01T00:00:00Z",
         "batchId":null,"actualSpecies":null,"outOfDistribution":null}
        """;

    private static async Task<(ApiContract Contract, JsonElement Document)> LiveAsync()
    {
        using var client = App.CreateClient();
        var json = await client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        return (new ApiContract(json), JsonDocument.Parse(json).RootElement.Clone());
    }

    [Test]
    public async Task A_prediction_with_null_batch_and_feedback_matches_the_document_and_one_without_them_does_not()
    {
        var (contract, _) = await LiveAsync();
        var withoutOptional = StoredPrediction.Replace("\"batchId\":null,\"actualSpecies\":null", "\"channel2\":null", StringComparison.Ordinal);
        Assert.Multiple(() =>
        {
            Assert.That(contract.Check("GET", "/api/predictions/1", 200, "application/json", StoredPrediction), Is.Empty);
            Assert.That(contract.Check("GET", "/api/predictions/1", 200, "application/json", withoutOptional), Is.Not.Empty);
            Assert.That(contract.Check("GET", "/api/predictions/1", 418, "application/json", StoredPrediction), Is.Not.Empty);
            Assert.That(contract.Check("GET", "/api/predictions/1", 200, "text/html", "<p>hi</p>"), Is.Not.Empty);
        });
    }

    [Test]
    public async Task Every_operation_declares_its_security_and_problem_answers_and_the_server_has_no_trailing_slash()
    {
        var (_, document) = await LiveAsync();
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => (Name: $"{o.Name} {p.Name}", Operation: o.Value))).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(document.GetProperty("servers").EnumerateArray().Select(s => s.GetProperty("url").GetString()), Has.None.EndsWith("/"));
            Assert.That(document.GetProperty("info").GetProperty("title").GetString(), Is.EqualTo("Vigie API"));
            Assert.That(document.GetProperty("components").GetProperty("securitySchemes").EnumerateObject().Select(s => s.Name),
                Is.EquivalentTo(new[] { "adminToken", "alertmanagerToken" }));
            foreach (var (name, operation) in operations)
            {
                Assert.That(operation.TryGetProperty("security", out _), Is.True, $"{name} declares its security");
                Assert.That(operation.GetProperty("responses").TryGetProperty("503", out var unavailable), Is.True, $"{name} declares 503");
                Assert.That(unavailable.GetProperty("content").TryGetProperty("application/problem+json", out _), Is.True, $"{name}: 503 is problem+json");
            }
            var train = operations.Single(o => o.Name == "post /api/models/train").Operation;
            Assert.That(train.GetProperty("security")[0].TryGetProperty("adminToken", out _), Is.True);
            Assert.That(train.GetProperty("responses").EnumerateObject().Select(r => r.Name), Is.SupersetOf(new[] { "202", "401", "409", "429" }));
        });
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Features.Predictions;

public sealed class PredictionsApiTests
{
    private static readonly object Adelie = new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 };

    [Test]
    public async Task Post_stores_the_prediction_and_answers_201_with_its_location()
    {
        using var client = NewClient();
        using var response = await client.PostAsJsonAsync("/api/predictions", Adelie);
        var body = await ReadJsonAsync(response);
        var id = body.GetProperty("id").GetInt64();

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo($"/api/predictions/{id}"));
            Assert.That(body.GetProperty("species").GetString(), Is.EqualTo("Adelie"));
            Assert.That(body.GetProperty("confidence").GetDouble(), Is.InRange(0.5, 1.0));
            Assert.That(body.GetProperty("probabilities").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "Adelie", "Chinstrap", "Gentoo" }));
            Assert.That(body.GetProperty("channel").GetString(), Is.EqualTo("api"));
            Assert.That(body.GetProperty("modelVersion").GetString(), Does.Match("^[0-9a-f]{12}$"));
            Assert.That(body.GetProperty("batchId").ValueKind, Is.EqualTo(JsonValueKind.Null), "every property is present; batchId is null outside a batch");
            Assert.That(await CountAsync($"id = {id} AND channel = 'api' AND species = 'Adelie'"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Get_by_id_returns_the_stored_prediction_and_404_problem_for_an_unknown_one()
    {
        using var client = NewClient();
        using var created = await client.PostAsJsonAsync("/api/predictions", Adelie);
        var location = created.Headers.Location!;
        var stored = await ReadJsonAsync(created);

        var fetched = await client.GetFromJsonAsync<JsonElement>(location, SharedApp.Json);
        using var missing = await client.GetAsync(new Uri("/api/predictions/987654321", UriKind.Relative));

        Assert.Multiple(async () =>
        {
            Assert.That(fetched.GetProperty("id").GetInt64(), Is.EqualTo(stored.GetProperty("id").GetInt64()));
            Assert.That(fetched.GetProperty("confidence").GetDouble(), Is.EqualTo(stored.GetProperty("confidence").GetDouble()));
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(missing.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That((await ReadJsonAsync(missing)).GetProperty("status").GetInt32(), Is.EqualTo(404));
        });
    }

    [Test]
    public async Task List_pages_newest_first_with_a_keyset_cursor_and_filters()
    {
        using var client = NewClient();
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 46.1 + i / 10.0, billDepthMm = 13.2, flipperLengthMm = 211, bodyMassG = 4500 });
            ids.Add((await ReadJsonAsync(response)).GetProperty("id").GetInt64());
        }
        var first = await client.GetFromJsonAsync<JsonElement>("/api/predictions?limit=3&channel=api&species=Gentoo", SharedApp.Json);
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await client.GetFromJsonAsync<JsonElement>($"/api/predictions?limit=3&channel=api&species=Gentoo&cursor={cursor}", SharedApp.Json);

        var firstIds = first.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("id").GetInt64()).ToList();
        var secondIds = second.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("id").GetInt64()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(firstIds, Is.EqualTo(ids.AsEnumerable().Reverse().Take(3)));
            Assert.That(secondIds.Take(2), Is.EqualTo(ids.AsEnumerable().Reverse().Skip(3).Take(2)));
            Assert.That(secondIds, Is.Ordered.Descending);
            Assert.That(second.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("species").GetString()), Has.All.EqualTo("Gentoo"));
        });
    }

    [Test]
    public async Task List_rejects_bad_query_values_with_per_field_errors()
    {
        using var client = NewClient();
        using var response = await client.GetAsync(new Uri("/api/predictions?limit=0&cursor=x&species=Emperor&channel=fax", UriKind.Relative));
        var problem = await ReadJsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name), Is.EquivalentTo(new[] { "limit", "cursor", "species", "channel" }));
        });
    }

    [TestCase("{\"billLengthMm\":\"abc\",\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}", "billLengthMm", TestName = "Text for a number")]
    [TestCase("{\"billLengthMm\":39.1,\"billDepthMm\":true,\"flipperLengthMm\":181,\"bodyMassG\":3750}", "billDepthMm", TestName = "Boolean for a number")]
    [TestCase("{\"billLengthMm\":39.1,\"billDepthMm\":18.7,\"flipperLengthMm\":{},\"bodyMassG\":3750}", "flipperLengthMm", TestName = "Object for a number")]
    public async Task A_value_of_the_wrong_type_is_a_field_error_like_the_range_checks(string body, string field)
    {
        using var client = NewClient();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(new Uri("/api/predictions", UriKind.Relative), content);
        var problem = await ReadJsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.GetProperty("errors").GetProperty(field)[0].GetString(), Is.EqualTo($"{field} must be a number."));
            Assert.That(problem.GetProperty("traceId").GetString(), Is.Not.Empty);
            Assert.That(problem.ToString(), Does.Not.Contain("Vigie.").And.Not.Contain("LineNumber"));
        });
    }

    [Test]
    public async Task Feedback_with_a_number_for_the_species_is_a_field_error()
    {
        using var client = NewClient();
        using var created = await client.PostAsJsonAsync("/api/predictions", Adelie);
        using var content = new StringContent("{\"actualSpecies\":42}", Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(new Uri($"{created.Headers.Location}/feedback", UriKind.Relative), content);
        var problem = await ReadJsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(problem.GetProperty("errors").GetProperty("actualSpecies")[0].GetString(), Is.EqualTo("actualSpecies must be a string."));
        });
    }

    public static IEnumerable<TestCaseData> BadBodies()
    {
        const string json = "application/json";
        yield return new TestCaseData("{}", json, 400, "billLengthMm").SetName("Missing every field");
        yield return new TestCaseData("{\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}", json, 400, "billLengthMm").SetName("Missing one field");
        yield return new TestCaseData("{\"billLengthMm\":\"abc\",\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}", json, 400, "billLengthMm").SetName("Text for a number");
        yield return new TestCaseData("{\"billLengthMm\":NaN,\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}", json, 400, "billLengthMm").SetName("NaN literal");
        yield return new TestCaseData("{\"billLengthMm\":\"NaN\",\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}", json, 400, "billLengthMm").SetName("NaN string");
        yield return new TestCaseData("{\"billLengthMm\":-39.1,\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}", json, 400, "billLengthMm").SetName("Negative");
        yield return new TestCaseData("{\"billLengthMm\":39.1,\"billDepthMm\":18.7,\"flipperLengthMm\":1e300,\"bodyMassG\":3750}", json, 400, "flipperLengthMm").SetName("Huge");
        yield return new TestCaseData("{\"billLengthMm\":39.1,\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":1e999}", json, 400, "bodyMassG").SetName("Beyond double");
        yield return new TestCaseData("", json, 400, null).SetName("Empty body");
        yield return new TestCaseData("{\"billLengthMm\":39.1,", json, 400, null).SetName("Malformed JSON");
        yield return new TestCaseData("[1,2,3,4]", json, 400, null).SetName("Array instead of object");
        yield return new TestCaseData("{\"billLengthMm\":\"'; DROP TABLE predictions;--\",\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}", json, 400, "billLengthMm").SetName("SQL fragment in a number field");
        yield return new TestCaseData("{\"billLengthMm\":\"<script>alert(1)</script>\",\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750}", json, 400, "billLengthMm").SetName("HTML fragment in a number field");
        yield return new TestCaseData("billLengthMm=39.1", "application/x-www-form-urlencoded", 415, null).SetName("Form content type");
        yield return new TestCaseData("{\"billLengthMm\":39.1}", "text/plain", 415, null).SetName("Text content type");
    }

    [TestCaseSource(nameof(BadBodies))]
    public async Task Bad_input_answers_problem_json_and_stores_nothing(string body, string contentType, int status, string? field)
    {
        var before = await CountAsync();
        using var client = NewClient();
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        using var response = await client.PostAsync(new Uri("/api/predictions", UriKind.Relative), content);
        var problem = await ReadJsonAsync(response);

        Assert.Multiple(async () =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(status));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(status));
            Assert.That(problem.GetProperty("title").GetString(), Is.Not.Empty);
            Assert.That(problem.ToString(), Does.Not.Match("Vigie\\.|System\\.|LineNumber|could not be converted"), "no .NET internals in the answer");
            if (field is not null)
            {
                var mentioned = problem.TryGetProperty("errors", out var errors)
                    ? errors.EnumerateObject().Any(e => e.Name == field)
                    : problem.GetProperty("detail").GetString()!.Contains(field, StringComparison.Ordinal);
                Assert.That(mentioned, Is.True, $"the problem names {field}: {problem}");
            }
            Assert.That(await CountAsync(), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task Feedback_is_recorded_once_and_bad_feedback_changes_nothing()
    {
        using var client = NewClient();
        using var created = await client.PostAsJsonAsync("/api/predictions", Adelie);
        var id = (await ReadJsonAsync(created)).GetProperty("id").GetInt64();

        using var invalid = await client.PostAsJsonAsync($"/api/predictions/{id}/feedback", new { actualSpecies = "'; DROP TABLE predictions;--" });
        using var missing = await client.PostAsJsonAsync("/api/predictions/987654321/feedback", new { actualSpecies = "Adelie" });
        using var recorded = await client.PostAsJsonAsync($"/api/predictions/{id}/feedback", new { actualSpecies = "chinstrap" });
        using var again = await client.PostAsJsonAsync($"/api/predictions/{id}/feedback", new { actualSpecies = "Adelie" });

        Assert.Multiple(async () =>
        {
            Assert.That(invalid.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await ReadJsonAsync(invalid)).GetProperty("errors").TryGetProperty("actualSpecies", out _), Is.True);
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(recorded.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await ReadJsonAsync(recorded)).GetProperty("actualSpecies").GetString(), Is.EqualTo("Chinstrap"));
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
            Assert.That(await Database.ScalarAsync<string>($"SELECT actual_species FROM predictions WHERE id = {id}"), Is.EqualTo("Chinstrap"));
        });
    }

    [Test]
    public async Task Model_endpoint_describes_the_model_in_service()
    {
        using var client = NewClient();
        var model = await client.GetFromJsonAsync<JsonElement>("/api/model", SharedApp.Json);
        Assert.Multiple(() =>
        {
            Assert.That(model.GetProperty("version").GetString(), Does.Match("^[0-9a-f]{12}$"));
            Assert.That(model.GetProperty("trainer").GetString(), Is.EqualTo("LbfgsMaximumEntropy"));
            Assert.That(model.GetProperty("heldOutAccuracy").GetDouble(), Is.GreaterThanOrEqualTo(0.95));
            Assert.That(model.GetProperty("trainingRows").GetInt32(), Is.EqualTo(342));
        });
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Infrastructure;

public sealed class IdempotencyTests
{
    private static readonly object Gentoo = new { billLengthMm = 46.1, billDepthMm = 13.2, flipperLengthMm = 211, bodyMassG = 4500 };

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string path, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request);
    }

    [Test]
    public async Task A_repeat_with_the_same_key_and_body_answers_the_original_prediction_and_stores_nothing_new()
    {
        var key = Guid.NewGuid().ToString();
        using var client = NewClient();
        var before = await CountAsync();
        using var first = await PostAsync(client, "/api/predictions", Gentoo, key);
        using var repeat = await PostAsync(client, "/api/predictions", Gentoo, key);
        var (original, replayed) = (await ReadJsonAsync(first), await ReadJsonAsync(repeat));
        Assert.Multiple(async () =>
        {
            Assert.That((first.StatusCode, repeat.StatusCode), Is.EqualTo((HttpStatusCode.Created, HttpStatusCode.Created)));
            Assert.That(replayed.GetProperty("id").GetInt64(), Is.EqualTo(original.GetProperty("id").GetInt64()));
            Assert.That(repeat.Headers.Location, Is.EqualTo(first.Headers.Location));
            Assert.That(first.Headers.Contains("Idempotency-Replayed"), Is.False);
            Assert.That(repeat.Headers.GetValues("Idempotency-Replayed"), Is.EqualTo(new[] { "true" }));
            Assert.That(await CountAsync(), Is.EqualTo(before + 1));
        });
    }

    [Test]
    public async Task The_same_key_with_a_different_body_answers_422_and_stores_nothing()
    {
        var key = Guid.NewGuid().ToString();
        using var client = NewClient();
        using var first = await PostAsync(client, "/api/predictions", Gentoo, key);
        var before = await CountAsync();
        using var other = await PostAsync(client, "/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 }, key);
        Assert.Multiple(async () =>
        {
            Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
            Assert.That(other.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(await CountAsync(), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task Fifty_concurrent_repeats_of_one_key_store_exactly_one_row_and_all_get_its_id()
    {
        var key = Guid.NewGuid().ToString();
        var before = await CountAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ =>
        {
            using var client = NewClient();
            using var response = await PostAsync(client, "/api/predictions", Gentoo, key);
            return (response.StatusCode, Id: (await ReadJsonAsync(response)).GetProperty("id").GetInt64());
        }));
        Assert.Multiple(async () =>
        {
            Assert.That(answers.Select(a => a.StatusCode), Has.All.EqualTo(HttpStatusCode.Created));
            Assert.That(answers.Select(a => a.Id).Distinct().Count(), Is.EqualTo(1));
            Assert.That(await CountAsync(), Is.EqualTo(before + 1));
        });
    }

    [Test]
    public async Task Repeated_feedback_with_its_key_answers_the_original_200_instead_of_409()
    {
        using var client = NewClient();
        using var created = await client.PostAsJsonAsync("/api/predictions", Gentoo);
        var feedback = $"{created.Headers.Location}/feedback";
        var key = Guid.NewGuid().ToString();
        using var first = await PostAsync(client, feedback, new { actualSpecies = "Gentoo" }, key);
        using var repeat = await PostAsync(client, feedback, new { actualSpecies = "Gentoo" }, key);
        using var withoutKey = await client.PostAsJsonAsync(feedback, new { actualSpecies = "Gentoo" });
        Assert.Multiple(() =>
        {
            Assert.That((first.StatusCode, repeat.StatusCode), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK)));
            Assert.That(repeat.Headers.Contains("Idempotency-Replayed"), Is.True);
            Assert.That(withoutKey.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        });
    }

    [Test]
    public async Task A_retried_upload_under_a_new_multipart_boundary_is_the_same_batch()
    {
        const string csv = "bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n39.1,18.7,181,3750\n46.1,13.2,211,4500\n";
        var key = Guid.NewGuid().ToString();
        var batches = await Database.ScalarAsync<long>("SELECT count(*) FROM batches");
        using var client = NewClient();
        async Task<(HttpStatusCode Status, Guid Id)> UploadAsync()
        {
            using var upload = new MultipartFormDataContent($"boundary-{Guid.NewGuid():N}");
            var file = new ByteArrayContent(Encoding.UTF8.GetBytes(csv));
            file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            upload.Add(file, "file", "retry.csv");
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/predictions/batch", UriKind.Relative)) { Content = upload };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await client.SendAsync(request);
            return (response.StatusCode, (await ReadJsonAsync(response)).GetProperty("batchId").GetGuid());
        }
        var first = await UploadAsync();
        var retry = await UploadAsync();
        Assert.Multiple(async () =>
        {
            Assert.That((first.Status, retry.Status), Is.EqualTo((HttpStatusCode.Created, HttpStatusCode.Created)));
            Assert.That(retry.Id, Is.EqualTo(first.Id));
            Assert.That(await Database.ScalarAsync<long>("SELECT count(*) FROM batches"), Is.EqualTo(batches + 1));
        });
    }

    [Test]
    public async Task An_expired_key_runs_the_request_again()
    {
        var key = Guid.NewGuid().ToString();
        using var client = NewClient();
        using var first = await PostAsync(client, "/api/predictions", Gentoo, key);
        await Database.ScalarAsync<long>($"WITH expired AS (UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = '{key}' RETURNING 1) SELECT count(*) FROM expired");
        using var again = await PostAsync(client, "/api/predictions", Gentoo, key);
        Assert.Multiple(async () =>
        {
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(again.Headers.Contains("Idempotency-Replayed"), Is.False);
            Assert.That((await ReadJsonAsync(again)).GetProperty("id").GetInt64(), Is.Not.EqualTo((await ReadJsonAsync(first)).GetProperty("id").GetInt64()));
        });
    }
}

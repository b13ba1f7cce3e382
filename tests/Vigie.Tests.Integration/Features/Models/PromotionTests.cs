using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

namespace Vigie.Tests.Features.Models;

/// <summary>Promotion and rollback: atomic on every instance, attributable, and refused cleanly when they do not apply.</summary>
[NonParallelizable]
public sealed class PromotionTests
{
    [Test]
    public async Task Predictions_during_repeated_promotions_and_rollbacks_never_fail_and_each_carries_the_version_that_answered()
    {
        // Eight loops posting as fast as the in-process server answers are a load generator, from one client address:
        // the per-client write limit (RateLimitTests) is off here, as in the benchmark.
        await using var lifecycle = await Lifecycle.StartAsync(settings: new Dictionary<string, string> { ["RateLimits:Writes"] = "0" });
        var baseVersion = await lifecycle.ServedVersionAsync();
        var candidate = await lifecycle.TrainCandidateAsync();
        // What each version answers for the contested bird: a torn switch would pair one version with the other's answer.
        var expected = new Dictionary<string, string> { [baseVersion] = "Gentoo", [candidate] = "Chinstrap" };

        using var client = lifecycle.Client();
        using var admin = lifecycle.Admin();
        var answers = new ConcurrentBag<(HttpStatusCode Status, long Id, string? Version, string? Species)>();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await client.PostAsJsonAsync("/api/predictions", Bird.Contested, Lifecycle.Json);
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    answers.Add((response.StatusCode, 0, null, await response.Content.ReadAsStringAsync()));
                    continue;
                }
                var body = await Lifecycle.JsonAsync(response);
                answers.Add((response.StatusCode, body.GetProperty("id").GetInt64(), body.GetProperty("modelVersion").GetString(), body.GetProperty("species").GetString()));
            }
        })).ToList();

        var switches = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            await Task.Delay(60);
            using var promote = await admin.PostAsync(new Uri($"/api/models/{candidate}/promote", UriKind.Relative), null);
            switches.Add(promote.StatusCode);
            await Task.Delay(60);
            using var rollback = await admin.PostAsync(new Uri("/api/models/rollback", UriKind.Relative), null);
            switches.Add(rollback.StatusCode);
            // A rolled-back version is retired; back to candidate so the next round can promote it again.
            await ReinstateCandidateAsync(lifecycle, candidate);
        }
        await Task.Delay(60);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        var stored = (await lifecycle.RowsAsync("SELECT id, model_version, species FROM predictions WHERE bill_length_mm = 45 AND body_mass_g = 4500"))
            .ToDictionary(r => (long)r[0]!, r => ((string)r[1]!, (string)r[2]!));
        var created = answers.Where(a => a.Status == HttpStatusCode.Created).ToList();
        TestContext.Out.WriteLine($"{answers.Count} predictions during 20 switches: {created.Count(a => a.Version == baseVersion)} by {baseVersion}, {created.Count(a => a.Version == candidate)} by {candidate}");
        Assert.Multiple(() =>
        {
            Assert.That(switches, Has.All.EqualTo(HttpStatusCode.OK));
            Assert.That(answers.Where(a => a.Status != HttpStatusCode.Created).Select(a => $"{(int)a.Status}: {a.Species}"), Is.Empty, "failed predictions");
            Assert.That(created.Where(a => !expected.ContainsKey(a.Version!)), Is.Empty, "an unknown version");
            Assert.That(created.Where(a => expected[a.Version!] != a.Species).Select(a => $"#{a.Id} {a.Version} said {a.Species}"), Is.Empty, "an answer of the other version");
            Assert.That(created.Where(a => stored[a.Id] != (a.Version!, a.Species!)), Is.Empty, "the stored row names another version than the answer");
            Assert.That(created.Select(a => a.Version).Distinct().Count(), Is.EqualTo(2), "both versions answered during the switches");
        });
    }

    [Test]
    public async Task Rollback_restores_the_previous_versions_answers_and_walks_back_the_activation_history()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        using var client = lifecycle.Client();
        using var admin = lifecycle.Admin();
        var baseVersion = await lifecycle.ServedVersionAsync();
        var first = await lifecycle.TrainCandidateAsync(feedback: 30);
        var second = await lifecycle.TrainCandidateAsync(feedback: 30, massOffset: 5);
        var before = await Lifecycle.PredictAsync(client, Bird.Contested);

        var promoted = await PostAsync(admin, $"/api/models/{first}/promote");
        var duringFirst = await Lifecycle.PredictAsync(client, Bird.Contested);
        var metricsDuringFirst = await MetricsAsync(lifecycle);
        await PostAsync(admin, $"/api/models/{second}/promote");
        var back = await PostAsync(admin, "/api/models/rollback");
        var afterFirstRollback = await Lifecycle.PredictAsync(client, Bird.Contested);
        var backAgain = await PostAsync(admin, "/api/models/rollback");
        var after = await Lifecycle.PredictAsync(client, Bird.Contested);
        var metricsAfter = await MetricsAsync(lifecycle);
        using var nothingLeft = await admin.PostAsync(new Uri("/api/models/rollback", UriKind.Relative), null);

        Assert.Multiple(async () =>
        {
            Assert.That(promoted.GetProperty("version").GetString(), Is.EqualTo(first));
            Assert.That(promoted.GetProperty("replaced").GetString(), Is.EqualTo(baseVersion));
            Assert.That(promoted.GetProperty("servedVersion").GetString(), Is.EqualTo(first), "the instance answering already serves it");
            Assert.That(duringFirst.GetProperty("modelVersion").GetString(), Is.EqualTo(first));
            Assert.That(duringFirst.GetProperty("species").GetString(), Is.EqualTo("Chinstrap"));
            Assert.That(back.GetProperty("version").GetString(), Is.EqualTo(first), "the rollback from the second version returns to the first");
            Assert.That(back.GetProperty("replaced").GetString(), Is.EqualTo(second));
            Assert.That(afterFirstRollback.GetProperty("modelVersion").GetString(), Is.EqualTo(first));
            Assert.That(backAgain.GetProperty("version").GetString(), Is.EqualTo(baseVersion));
            // The base model's answer, exactly as before any promotion.
            Assert.That(after.GetProperty("modelVersion").GetString(), Is.EqualTo(baseVersion));
            Assert.That(after.GetProperty("species").GetString(), Is.EqualTo(before.GetProperty("species").GetString()));
            Assert.That(after.GetProperty("confidence").GetDouble(), Is.EqualTo(before.GetProperty("confidence").GetDouble()).Within(1e-9));
            Assert.That(nothingLeft.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), "nothing was active before the base model");
            // vigie_model_info follows the switches: the version in service at 1, the one it replaced gone.
            Assert.That(metricsDuringFirst, Does.Contain($"vigie_model_info{{model_version=\"{first}\",trainer=\"LbfgsMaximumEntropy\"}} 1"));
            Assert.That(metricsDuringFirst, Does.Not.Contain($"vigie_model_info{{model_version=\"{baseVersion}\""));
            Assert.That(metricsDuringFirst, Does.Contain($"vigie_model_accuracy_ratio{{model_version=\"{first}\",status=\"active\"}}"));
            Assert.That(metricsAfter, Does.Contain($"vigie_model_info{{model_version=\"{baseVersion}\",trainer=\"LbfgsMaximumEntropy\"}} 1"));
            Assert.That(metricsAfter, Does.Not.Contain($"vigie_model_info{{model_version=\"{first}\""));
            Assert.That(metricsAfter, Does.Not.Contain($"vigie_model_info{{model_version=\"{second}\""));
            Assert.That(await lifecycle.ScalarAsync<string>("SELECT string_agg(version || ':' || status, ',' ORDER BY created_at) FROM model_versions"),
                Is.EqualTo($"{baseVersion}:active,{first}:retired,{second}:retired"));
            Assert.That(await lifecycle.ScalarAsync<string>("SELECT string_agg(action, ',' ORDER BY id) FROM model_events WHERE action IN ('promoted', 'rolled_back')"),
                Is.EqualTo("promoted,promoted,rolled_back,rolled_back"));
        });
    }

    [Test]
    public async Task Bad_inputs_answer_4xx_problem_json_and_change_nothing()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        var retired = await lifecycle.TrainCandidateAsync(feedback: 30);
        var candidate = await lifecycle.TrainCandidateAsync(feedback: 30, massOffset: 5);
        var baseVersion = await lifecycle.ServedVersionAsync();
        using (var admin = lifecycle.Admin())
        {
            await PostAsync(admin, $"/api/models/{retired}/promote");
            await PostAsync(admin, "/api/models/rollback");
        }
        var snapshot = await lifecycle.RegistrySnapshotAsync();
        using var anonymous = lifecycle.Client();
        using var wrong = lifecycle.Admin(token: "not-the-token");
        using var good = lifecycle.Admin();
        using var noScheme = lifecycle.Client();
        noScheme.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", Lifecycle.AdminTokenValue);

        var cases = new (string Name, HttpClient Client, HttpMethod Method, string Path, HttpStatusCode Expected)[]
        {
            ("promote without a token", anonymous, HttpMethod.Post, $"/api/models/{candidate}/promote", HttpStatusCode.Unauthorized),
            ("promote with a wrong token", wrong, HttpMethod.Post, $"/api/models/{candidate}/promote", HttpStatusCode.Unauthorized),
            ("promote with the token but no Bearer scheme", noScheme, HttpMethod.Post, $"/api/models/{candidate}/promote", HttpStatusCode.Unauthorized),
            ("rollback without a token", anonymous, HttpMethod.Post, "/api/models/rollback", HttpStatusCode.Unauthorized),
            ("train with a wrong token", wrong, HttpMethod.Post, "/api/models/train", HttpStatusCode.Unauthorized),
            ("shadow without a token", anonymous, HttpMethod.Post, $"/api/models/{candidate}/shadow", HttpStatusCode.Unauthorized),
            ("promote an unknown version", good, HttpMethod.Post, "/api/models/0123456789ab/promote", HttpStatusCode.NotFound),
            ("promote a version that was never trained", good, HttpMethod.Post, "/api/models/not-trained/promote", HttpStatusCode.NotFound),
            ("promote a malformed version", good, HttpMethod.Post, "/api/models/%27%3B%20DROP/promote", HttpStatusCode.NotFound),
            ("promote a retired version", good, HttpMethod.Post, $"/api/models/{retired}/promote", HttpStatusCode.Conflict),
            ("promote the active version", good, HttpMethod.Post, $"/api/models/{baseVersion}/promote", HttpStatusCode.Conflict),
            ("rollback with nothing before", good, HttpMethod.Post, "/api/models/rollback", HttpStatusCode.Conflict),
            ("shadow a retired version", good, HttpMethod.Post, $"/api/models/{retired}/shadow", HttpStatusCode.Conflict),
            ("shadow the active version", good, HttpMethod.Post, $"/api/models/{baseVersion}/shadow", HttpStatusCode.Conflict),
            ("shadow an unknown version", good, HttpMethod.Post, "/api/models/0123456789ab/shadow", HttpStatusCode.NotFound),
            ("stop a shadow that is not running", good, HttpMethod.Delete, $"/api/models/{candidate}/shadow", HttpStatusCode.Conflict),
            ("get an unknown version", anonymous, HttpMethod.Get, "/api/models/0123456789ab", HttpStatusCode.NotFound),
            ("get an unknown training run", anonymous, HttpMethod.Get, "/api/models/training/999999", HttpStatusCode.NotFound),
        };
        var outcomes = new List<string>();
        foreach (var (name, client, method, path, expected) in cases)
        {
            using var response = await client.SendAsync(new HttpRequestMessage(method, new Uri(path, UriKind.Relative)));
            var type = response.Content.Headers.ContentType?.MediaType;
            var body = await response.Content.ReadAsStringAsync();
            var problem = type == "application/problem+json" ? JsonDocument.Parse(body).RootElement : default;
            if (response.StatusCode != expected || problem.ValueKind != JsonValueKind.Object || problem.GetProperty("status").GetInt32() != (int)expected
                || !problem.TryGetProperty("detail", out _)
                || (expected == HttpStatusCode.Unauthorized && response.Headers.WwwAuthenticate.ToString() != "Bearer realm=\"vigie-admin\""))
            {
                outcomes.Add($"{name}: {(int)response.StatusCode} {type} {body}");
            }
        }
        Assert.Multiple(async () =>
        {
            Assert.That(outcomes, Is.Empty, "cases that did not answer the expected problem+json");
            Assert.That(await lifecycle.RegistrySnapshotAsync(), Is.EqualTo(snapshot), "the registry changed");
            Assert.That(await lifecycle.ServedVersionAsync(), Is.EqualTo(baseVersion));
            Assert.That(await lifecycle.ScalarAsync<long>("SELECT count(*) FROM model_training_runs WHERE instance <> ''"), Is.EqualTo(2), "no training run was queued");
        });
    }

    [Test]
    public async Task A_version_whose_stored_model_cannot_be_loaded_is_neither_promoted_nor_shadowed()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        var baseVersion = await lifecycle.ServedVersionAsync();
        var candidate = await lifecycle.TrainCandidateAsync();
        // The bytes no longer match the content hash they were registered with.
        await lifecycle.ScalarAsync<long>($"WITH c AS (UPDATE model_versions SET model = '\\x00'::bytea WHERE version = '{candidate}' RETURNING 1) SELECT count(*) FROM c");
        var snapshot = await lifecycle.RegistrySnapshotAsync();
        using var admin = lifecycle.Admin();
        using var client = lifecycle.Client();

        var answers = new List<(HttpStatusCode Status, string? Type, string Detail)>();
        foreach (var path in new[] { $"/api/models/{candidate}/promote", $"/api/models/{candidate}/shadow" })
        {
            using var response = await admin.PostAsync(new Uri(path, UriKind.Relative), null);
            var body = await response.Content.ReadAsStringAsync();
            var detail = response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                ? JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString() ?? "" : body;
            answers.Add((response.StatusCode, response.Content.Headers.ContentType?.MediaType, detail));
        }
        var prediction = await Lifecycle.PredictAsync(client, Bird.Adelie);

        Assert.Multiple(async () =>
        {
            foreach (var (status, type, detail) in answers)
            {
                Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), detail);
                Assert.That(type, Is.EqualTo("application/problem+json"));
                Assert.That(detail, Does.Contain("content hash").And.Contain("The registry is unchanged"));
            }
            Assert.That(await lifecycle.RegistrySnapshotAsync(), Is.EqualTo(snapshot), "the registry changed");
            Assert.That(await lifecycle.ServedVersionAsync(), Is.EqualTo(baseVersion));
            Assert.That(prediction.GetProperty("modelVersion").GetString(), Is.EqualTo(baseVersion));
        });
    }

    [Test]
    public async Task Two_instances_on_one_database_switch_together_through_notify()
    {
        // A 60 s poll: only LISTEN/NOTIFY can switch the other instance within seconds.
        await using var lifecycle = await Lifecycle.StartAsync(instances: 2, pollSeconds: 60);
        var baseVersion = await lifecycle.ServedVersionAsync(1);
        var candidate = await lifecycle.TrainCandidateAsync();
        using var adminA = lifecycle.Admin(0);
        using var adminB = lifecycle.Admin(1);
        using var clientB = lifecycle.Client(1);

        await PostAsync(adminA, $"/api/models/{candidate}/promote");
        var promotedAfter = await lifecycle.WaitForServedAsync(1, candidate, TimeSpan.FromSeconds(5));
        var onB = await Lifecycle.PredictAsync(clientB, Bird.Contested);

        await PostAsync(adminB, "/api/models/rollback");
        var rolledBackAfter = await lifecycle.WaitForServedAsync(0, baseVersion, TimeSpan.FromSeconds(5));
        TestContext.Out.WriteLine($"instance B served the promotion after {promotedAfter.TotalMilliseconds:F0} ms, instance A the rollback after {rolledBackAfter.TotalMilliseconds:F0} ms");
        Assert.Multiple(() =>
        {
            Assert.That(onB.GetProperty("modelVersion").GetString(), Is.EqualTo(candidate));
            Assert.That(onB.GetProperty("species").GetString(), Is.EqualTo("Chinstrap"));
            Assert.That(promotedAfter, Is.LessThan(TimeSpan.FromSeconds(3)));
            Assert.That(rolledBackAfter, Is.LessThan(TimeSpan.FromSeconds(3)));
        });
    }

    [Test]
    public async Task A_change_that_sends_no_notification_is_applied_by_the_poll()
    {
        await using var lifecycle = await Lifecycle.StartAsync(pollSeconds: 1);
        var candidate = await lifecycle.TrainCandidateAsync();
        await using (var connection = new NpgsqlConnection(lifecycle.ConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var retire = new NpgsqlCommand("UPDATE model_versions SET status = 'retired', retired_at = now() WHERE status = 'active'", connection, transaction);
            await retire.ExecuteNonQueryAsync();
            await using var activate = new NpgsqlCommand($"UPDATE model_versions SET status = 'active', activated_at = now() WHERE version = '{candidate}'", connection, transaction);
            await activate.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }
        var after = await lifecycle.WaitForServedAsync(0, candidate, TimeSpan.FromSeconds(5));
        Assert.That(after, Is.LessThan(TimeSpan.FromSeconds(3)));
    }

    private static async Task<string> MetricsAsync(Lifecycle lifecycle)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{lifecycle.Apps[0].MetricsPort}/metrics"));
    }

    private static async Task<JsonElement> PostAsync(HttpClient admin, string path)
    {
        using var response = await admin.PostAsync(new Uri(path, UriKind.Relative), null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{path}: {await response.Content.ReadAsStringAsync()}");
        return await Lifecycle.JsonAsync(response);
    }

    // Test set-up only: the API never turns a retired version back into a candidate.
    private static async Task ReinstateCandidateAsync(Lifecycle lifecycle, string version)
    {
        await using var connection = new NpgsqlConnection(lifecycle.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"UPDATE model_versions SET status = 'candidate', retired_at = NULL WHERE version = '{version}' AND status = 'retired'", connection);
        await command.ExecuteNonQueryAsync();
    }
}

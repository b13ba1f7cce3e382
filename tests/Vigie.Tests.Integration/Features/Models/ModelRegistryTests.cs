using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;

namespace Vigie.Tests.Features.Models;

/// <summary>The registry in PostgreSQL: first registration, and the database's own guarantee of exactly one active version.</summary>
[NonParallelizable]
public sealed class ModelRegistryTests
{
    [Test]
    public async Task First_start_registers_the_base_model_as_the_one_active_version_with_its_metrics_and_bytes()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        var served = await lifecycle.ServedVersionAsync();
        var row = (await lifecycle.RowsAsync("""
            SELECT version, status, trainer, settings, content_sha256, model, held_out_accuracy, held_out_macro_f1, held_out_rows,
                   held_out_recall::text, held_out_confusion::text, training_rows, base_training_rows, feedback_up_to_prediction_id, activated_at
            FROM model_versions
            """)).Single();
        var confusion = JsonDocument.Parse((string)row[10]!).RootElement;
        var counts = confusion.GetProperty("counts").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
        var recall = JsonDocument.Parse((string)row[9]!).RootElement;
        using var client = lifecycle.Client();
        var listed = await client.GetFromJsonAsync<JsonElement>("/api/models", Lifecycle.Json);
        Assert.Multiple(async () =>
        {
            Assert.That(row[0], Is.EqualTo(served));
            Assert.That(row[1], Is.EqualTo("active"));
            Assert.That(row[2], Is.EqualTo("LbfgsMaximumEntropy"));
            Assert.That((string)row[3]!, Does.StartWith("trainer=LbfgsMaximumEntropy;"));
            Assert.That(row[4], Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData((byte[])row[5]!))), "content hash of the stored bytes");
            Assert.That((double)row[6]!, Is.GreaterThanOrEqualTo(0.95));
            Assert.That((double)row[7]!, Is.InRange(0.9, 1.0));
            Assert.That(counts.Sum(r => r.Sum()), Is.EqualTo((int)row[8]!), "the confusion matrix covers every held-out row");
            Assert.That(confusion.GetProperty("labels").EnumerateArray().Select(l => l.GetString()), Is.EqualTo(new[] { "Adelie", "Chinstrap", "Gentoo" }));
            Assert.That(recall.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "Adelie", "Chinstrap", "Gentoo" }));
            Assert.That(row[11], Is.EqualTo(row[12]), "the base model trained on the base data only");
            Assert.That(row[13], Is.Null);
            Assert.That(row[14], Is.Not.Null);
            Assert.That(await lifecycle.ScalarAsync<string>("SELECT action FROM model_events"), Is.EqualTo("registered"));
            Assert.That(listed.GetProperty("active").GetString(), Is.EqualTo(served));
            Assert.That(listed.GetProperty("versions").GetArrayLength(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task The_OpenAPI_document_lists_the_model_lifecycle_routes()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        using var client = lifecycle.Client();
        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Lifecycle.Json);
        var paths = document.GetProperty("paths").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateObject().Select(o => o.Name).ToList());
        Assert.Multiple(() =>
        {
            Assert.That(paths.GetValueOrDefault("/api/models"), Is.EquivalentTo(new[] { "get" }));
            Assert.That(paths.GetValueOrDefault("/api/models/{version}"), Is.EquivalentTo(new[] { "get" }));
            Assert.That(paths.GetValueOrDefault("/api/models/train"), Is.EquivalentTo(new[] { "post" }));
            Assert.That(paths.GetValueOrDefault("/api/models/training"), Is.EquivalentTo(new[] { "get" }));
            Assert.That(paths.GetValueOrDefault("/api/models/training/{id}"), Is.EquivalentTo(new[] { "get" }));
            Assert.That(paths.GetValueOrDefault("/api/models/{version}/shadow"), Is.EquivalentTo(new[] { "post", "delete" }));
            Assert.That(paths.GetValueOrDefault("/api/models/{version}/promote"), Is.EquivalentTo(new[] { "post" }));
            Assert.That(paths.GetValueOrDefault("/api/models/rollback"), Is.EquivalentTo(new[] { "post" }));
        });
    }

    [Test]
    public async Task Two_instances_starting_together_on_an_empty_registry_register_one_active_version()
    {
        await using var lifecycle = await Lifecycle.StartAsync(instances: 3);
        var served = await Task.WhenAll(Enumerable.Range(0, 3).Select(lifecycle.ServedVersionAsync));
        Assert.Multiple(async () =>
        {
            Assert.That(await lifecycle.ScalarAsync<long>("SELECT count(*) FROM model_versions"), Is.EqualTo(1));
            Assert.That(await lifecycle.ScalarAsync<long>("SELECT count(*) FROM model_versions WHERE status = 'active'"), Is.EqualTo(1));
            Assert.That(await lifecycle.ScalarAsync<long>("SELECT count(*) FROM model_events WHERE action = 'registered'"), Is.EqualTo(1));
            Assert.That(served.Distinct().Count(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task The_database_itself_refuses_a_second_active_version_and_a_registry_without_one()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        var candidate = await lifecycle.TrainCandidateAsync();
        await using var connection = new NpgsqlConnection(lifecycle.ConnectionString);
        await connection.OpenAsync();

        // Straight SQL, bypassing the app and its lock: the partial unique index stops a second active version.
        var second = Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var activate = new NpgsqlCommand($"UPDATE model_versions SET status = 'active', activated_at = now() WHERE version = '{candidate}'", connection);
            await activate.ExecuteNonQueryAsync();
        });
        // Retiring the only active version is refused when the transaction commits (deferred constraint trigger).
        var none = Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var retire = new NpgsqlCommand("UPDATE model_versions SET status = 'retired', retired_at = now() WHERE status = 'active'", connection);
            await retire.ExecuteNonQueryAsync();
        });
        Assert.Multiple(async () =>
        {
            Assert.That(second!.SqlState, Is.EqualTo(PostgresErrorCodes.UniqueViolation));
            Assert.That(second.ConstraintName, Is.EqualTo("model_versions_one_active"));
            Assert.That(none!.SqlState, Is.EqualTo(PostgresErrorCodes.CheckViolation));
            Assert.That(none.ConstraintName, Is.EqualTo("model_versions_keep_an_active_version"));
            Assert.That(await lifecycle.ScalarAsync<long>("SELECT count(*) FROM model_versions WHERE status = 'active'"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Concurrent_promotions_from_two_instances_and_raw_SQL_leave_exactly_one_active_version()
    {
        await using var lifecycle = await Lifecycle.StartAsync(instances: 2);
        var first = await lifecycle.TrainCandidateAsync(feedback: 30);
        var second = await lifecycle.TrainCandidateAsync(feedback: 30, massOffset: 5);
        var third = await lifecycle.TrainCandidateAsync(feedback: 30, massOffset: 7);
        var candidates = new[] { first, second, third };
        Assert.That(candidates.Distinct().Count(), Is.EqualTo(3));

        using var adminA = lifecycle.Admin(0);
        using var adminB = lifecycle.Admin(1);
        var rawFailures = 0;
        var rawSucceeded = 0;
        var promotions = Enumerable.Range(0, 24).Select(async i =>
        {
            var version = candidates[i % 3];
            if (i % 4 == 3)
            {
                // A writer that skips the app's lock and its retire step: the database alone must refuse it.
                try
                {
                    await using var connection = new NpgsqlConnection(lifecycle.ConnectionString);
                    await connection.OpenAsync();
                    await using var raw = new NpgsqlCommand($"UPDATE model_versions SET status = 'active', activated_at = now() WHERE version = '{version}' AND status <> 'active'", connection);
                    if (await raw.ExecuteNonQueryAsync() > 0)
                    {
                        Interlocked.Increment(ref rawSucceeded);
                    }
                }
                catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected)
                {
                    Interlocked.Increment(ref rawFailures);
                }
                return HttpStatusCode.Conflict;
            }
            using var response = await (i % 2 == 0 ? adminA : adminB).PostAsync(new Uri($"/api/models/{version}/promote", UriKind.Relative), null);
            return response.StatusCode;
        }).ToList();
        var statuses = await Task.WhenAll(promotions);

        var active = await lifecycle.RowsAsync("SELECT version FROM model_versions WHERE status = 'active'");
        Assert.Multiple(async () =>
        {
            Assert.That(active, Has.Count.EqualTo(1));
            Assert.That(statuses, Has.All.EqualTo(HttpStatusCode.OK).Or.EqualTo(HttpStatusCode.Conflict));
            Assert.That(statuses.Count(s => s == HttpStatusCode.OK), Is.GreaterThanOrEqualTo(1));
            Assert.That(rawSucceeded, Is.Zero, "no raw activation beside the active version got through");
            Assert.That(rawFailures, Is.GreaterThan(0), "raw activations were refused (unique index, or a deadlock with a promotion)");
            // Every successful promotion retired exactly the version it replaced.
            Assert.That(await lifecycle.ScalarAsync<long>("SELECT count(*) FROM model_events WHERE action = 'promoted'"),
                Is.EqualTo(statuses.Count(s => s == HttpStatusCode.OK)));
        });
        // Both instances end up serving the one active version.
        var version = (string)active[0][0]!;
        await lifecycle.WaitForServedAsync(0, version, TimeSpan.FromSeconds(5));
        await lifecycle.WaitForServedAsync(1, version, TimeSpan.FromSeconds(5));
    }
}

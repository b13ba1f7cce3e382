using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

namespace Vigie.Tests.Features.Models;

/// <summary>POST /api/models/train: feedback becomes training data, off the request path, one run at a time.</summary>
[NonParallelizable]
public sealed class RetrainingTests
{
    private Lifecycle _lifecycle = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _lifecycle = await Lifecycle.StartAsync(instances: 2);

    [OneTimeTearDown]
    public async Task StopAsync() => await _lifecycle.DisposeAsync();

    [Test]
    public async Task Retraining_on_synthetic_feedback_changes_the_model_and_records_its_lineage()
    {
        using var client = _lifecycle.Client();
        using var admin = _lifecycle.Admin();
        var active = await _lifecycle.ServedVersionAsync();
        var ids = await Lifecycle.ContraryFeedbackAsync(client, 40);
        // A prediction without feedback after them is not training data.
        await Lifecycle.PredictAsync(client, Bird.Adelie);
        var feedbackRows = await _lifecycle.ScalarAsync<long>("SELECT count(*) FROM predictions WHERE actual_species IS NOT NULL");
        var upTo = await _lifecycle.ScalarAsync<long>("SELECT max(id) FROM predictions WHERE actual_species IS NOT NULL");

        var run = await Lifecycle.TrainAsync(admin);
        var candidate = run.GetProperty("candidateVersion").GetString()!;
        var view = await client.GetFromJsonAsync<JsonElement>($"/api/models/{candidate}", Lifecycle.Json);
        var lineage = view.GetProperty("lineage");
        var comparison = view.GetProperty("comparison");
        var heldOutFeedback = lineage.GetProperty("feedbackHeldOutRows").GetInt32();
        var trainingFeedback = lineage.GetProperty("feedbackTrainingRows").GetInt32();

        // Shadow the candidate and ask again about the contested bird: the candidate's answer is recorded beside the active one's.
        using (var shadow = await admin.PostAsync(new Uri($"/api/models/{candidate}/shadow", UriKind.Relative), null))
        {
            Assert.That(shadow.StatusCode, Is.EqualTo(HttpStatusCode.OK), await shadow.Content.ReadAsStringAsync());
        }
        var asked = await Lifecycle.PredictAsync(client, Bird.Contested);
        var askedId = asked.GetProperty("id").GetInt64();
        var shadowSpecies = await WaitForShadowAsync(askedId, candidate);

        Assert.Multiple(() =>
        {
            Assert.That(run.GetProperty("status").GetString(), Is.EqualTo("succeeded"));
            Assert.That(run.GetProperty("outcome").GetString(), Is.EqualTo("registered"));
            Assert.That(candidate, Does.Match("^[0-9a-f]{12}$").And.Not.EqualTo(active));
            Assert.That(view.GetProperty("status").GetString(), Is.EqualTo("candidate"));
            Assert.That(lineage.GetProperty("feedbackUpToPredictionId").GetInt64(), Is.EqualTo(upTo));
            Assert.That(trainingFeedback + heldOutFeedback, Is.EqualTo(feedbackRows));
            Assert.That(heldOutFeedback, Is.GreaterThan(0).And.LessThan(feedbackRows));
            Assert.That(lineage.GetProperty("trainingRows").GetInt32(), Is.EqualTo(lineage.GetProperty("baseTrainingRows").GetInt32() + trainingFeedback));
            Assert.That(lineage.GetProperty("parentVersion").GetString(), Is.EqualTo(active));
            // Side by side on the same evidence: the held-out rows now include contrary feedback only the candidate learnt.
            Assert.That(comparison.GetProperty("againstVersion").GetString(), Is.EqualTo(active));
            var heldOut = comparison.GetProperty("heldOut");
            Assert.That(heldOut.GetProperty("candidate").GetProperty("rows").GetInt32(), Is.EqualTo(heldOut.GetProperty("active").GetProperty("rows").GetInt32()));
            Assert.That(heldOut.GetProperty("candidate").GetProperty("accuracy").GetDouble(), Is.GreaterThan(heldOut.GetProperty("active").GetProperty("accuracy").GetDouble()));
            var recent = comparison.GetProperty("recentFeedback");
            Assert.That(recent.GetProperty("candidate").GetProperty("rows").GetInt32(), Is.EqualTo(heldOutFeedback));
            Assert.That(recent.GetProperty("active").GetProperty("accuracy").GetDouble(), Is.Zero, "the active model called every contested bird a Gentoo");
            Assert.That(recent.GetProperty("candidate").GetProperty("accuracy").GetDouble(), Is.GreaterThan(0.5));
            // The model changed: same bird, different answers.
            Assert.That(asked.GetProperty("species").GetString(), Is.EqualTo("Gentoo"));
            Assert.That(asked.GetProperty("modelVersion").GetString(), Is.EqualTo(active));
            Assert.That(shadowSpecies, Is.EqualTo("Chinstrap"));
            Assert.That(ids, Has.Count.EqualTo(40));
        });
        using var stop = await admin.DeleteAsync(new Uri($"/api/models/{candidate}/shadow", UriKind.Relative));
        Assert.That(stop.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Training_again_on_the_same_feedback_reports_the_existing_version_unchanged()
    {
        using var client = _lifecycle.Client();
        using var admin = _lifecycle.Admin();
        await Lifecycle.ContraryFeedbackAsync(client, 10, massOffset: 3);
        var first = await Lifecycle.TrainAsync(admin);
        var again = await Lifecycle.TrainAsync(admin);
        Assert.Multiple(async () =>
        {
            Assert.That(first.GetProperty("outcome").GetString(), Is.EqualTo("registered"));
            Assert.That(again.GetProperty("status").GetString(), Is.EqualTo("succeeded"));
            Assert.That(again.GetProperty("outcome").GetString(), Is.EqualTo("unchanged"));
            Assert.That(again.GetProperty("candidateVersion").GetString(), Is.EqualTo(first.GetProperty("candidateVersion").GetString()));
            Assert.That(await _lifecycle.ScalarAsync<long>($"SELECT count(*) FROM model_versions WHERE version = '{first.GetProperty("candidateVersion").GetString()}'"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Training_runs_off_the_request_path_and_reports_its_progress_on_every_instance()
    {
        using var admin = _lifecycle.Admin();
        using var other = _lifecycle.Client(1);
        using var accepted = await admin.PostAsync(new Uri("/api/models/train", UriKind.Relative), null);
        var queued = await Lifecycle.JsonAsync(accepted);
        var id = queued.GetProperty("id").GetInt64();
        var seen = new List<string>();
        JsonElement run;
        do
        {
            run = await other.GetFromJsonAsync<JsonElement>($"/api/models/training/{id}", Lifecycle.Json);
            seen.Add(run.GetProperty("status").GetString()!);
            await Task.Delay(20);
        }
        while (run.GetProperty("status").GetString() is "queued" or "running");
        var latest = await other.GetFromJsonAsync<JsonElement>("/api/models/training", Lifecycle.Json);
        Assert.Multiple(() =>
        {
            Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(accepted.Headers.Location?.ToString(), Is.EqualTo($"/api/models/training/{id}"));
            Assert.That(queued.GetProperty("status").GetString(), Is.EqualTo("queued"), "the request only queues the run");
            Assert.That(seen.Last(), Is.EqualTo("succeeded"));
            Assert.That(run.GetProperty("stage").GetString(), Is.EqualTo("done"));
            Assert.That(run.GetProperty("startedAt").GetDateTimeOffset(), Is.LessThanOrEqualTo(run.GetProperty("finishedAt").GetDateTimeOffset()));
            Assert.That(latest.GetProperty("id").GetInt64(), Is.EqualTo(id));
        });
    }

    [Test]
    public async Task A_second_request_while_a_run_is_queued_or_running_anywhere_gets_409_problem_json()
    {
        using var adminA = _lifecycle.Admin(0);
        using var adminB = _lifecycle.Admin(1);

        // Simultaneous requests to both instances: the database admits one run.
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            (i % 2 == 0 ? adminA : adminB).PostAsync(new Uri("/api/models/train", UriKind.Relative), null)));
        var accepted = responses.Where(r => r.StatusCode == HttpStatusCode.Accepted).ToList();
        var conflicts = responses.Where(r => r.StatusCode == HttpStatusCode.Conflict).ToList();
        var conflict = await Lifecycle.JsonAsync(conflicts[0]);
        await WaitForNoRunAsync();

        // A run another instance holds, still reporting progress: refused; once its heartbeat is a minute old: given up.
        await using (var connection = new NpgsqlConnection(_lifecycle.ConnectionString))
        {
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO model_training_runs (status, stage, instance, started_at) VALUES ('running', 'training', 'elsewhere', now())", connection);
            await insert.ExecuteNonQueryAsync();
        }
        using var refused = await adminA.PostAsync(new Uri("/api/models/train", UriKind.Relative), null);
        await using (var connection = new NpgsqlConnection(_lifecycle.ConnectionString))
        {
            await connection.OpenAsync();
            await using var age = new NpgsqlCommand("UPDATE model_training_runs SET heartbeat_at = now() - interval '2 minutes' WHERE instance = 'elsewhere'", connection);
            await age.ExecuteNonQueryAsync();
        }
        using var afterCrash = await adminA.PostAsync(new Uri("/api/models/train", UriKind.Relative), null);
        await WaitForNoRunAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(accepted, Has.Count.EqualTo(1));
            Assert.That(conflicts, Has.Count.EqualTo(5));
            Assert.That(conflicts.Select(c => c.Content.Headers.ContentType?.MediaType), Has.All.EqualTo("application/problem+json"));
            Assert.That(conflict.GetProperty("title").GetString(), Is.EqualTo("Training already running"));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(afterCrash.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(await _lifecycle.ScalarAsync<string>("SELECT status || '/' || stage FROM model_training_runs WHERE instance = 'elsewhere'"), Is.EqualTo("failed/abandoned"));
        });
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    private async Task<string> WaitForShadowAsync(long predictionId, string version)
    {
        for (var i = 0; i < 100; i++)
        {
            var rows = await _lifecycle.RowsAsync($"SELECT species FROM shadow_predictions WHERE prediction_id = {predictionId} AND version = '{version}'");
            if (rows.Count == 1)
            {
                return (string)rows[0][0]!;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"Prediction {predictionId} was not shadow-scored by {version}.");
    }

    private async Task WaitForNoRunAsync()
    {
        for (var i = 0; i < 600; i++)
        {
            if (await _lifecycle.ScalarAsync<long>("SELECT count(*) FROM model_training_runs WHERE status IN ('queued', 'running')") == 0)
            {
                return;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("A training run did not finish.");
    }
}

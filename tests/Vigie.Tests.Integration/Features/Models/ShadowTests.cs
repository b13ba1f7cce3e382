using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Vigie.Tests.Features.Models;

/// <summary>A candidate in shadow scores every prediction beside the active model, off the request path.</summary>
[NonParallelizable]
public sealed class ShadowTests
{
    [Test]
    public async Task A_candidate_in_shadow_scores_every_prediction_without_changing_the_answer_and_its_results_are_recorded()
    {
        await using var lifecycle = await Lifecycle.StartAsync(instances: 2);
        var active = await lifecycle.ServedVersionAsync();
        var candidate = await ShadowCandidateAsync(lifecycle);
        using var client = lifecycle.Client();
        using var other = lifecycle.Client(1);
        // The other instance learns of the shadow through NOTIFY.
        await WaitAsync(async () => await ShadowLoadedAsync(lifecycle, 1, candidate), "instance 1 loads the shadow");
        var from = await lifecycle.ScalarAsync<long>("SELECT coalesce(max(id), 0) FROM predictions");

        // Through both instances: the API, the form's service and a batch; contested birds (the models disagree) and Adelies (they agree).
        var answers = new List<JsonElement>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add(await Lifecycle.PredictAsync(i % 2 == 0 ? client : other, i % 2 == 0 ? Bird.Contested : Bird.Adelie));
        }
        var csv = new StringBuilder("bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n");
        for (var i = 0; i < 30; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{(i % 2 == 0 ? "45,16,210,4500" : "39.1,18.7,181,3750")}\n");
        }
        using (var upload = new MultipartFormDataContent { { new StringContent(csv.ToString()), "file", "shadow.csv" } })
        using (var batch = await other.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), upload))
        {
            Assert.That(batch.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        }
        var made = await lifecycle.ScalarAsync<long>($"SELECT count(*) FROM predictions WHERE id > {from}");
        await WaitAsync(async () => await lifecycle.ScalarAsync<long>($"SELECT count(*) FROM shadow_predictions WHERE prediction_id > {from}") == made, "every prediction shadow-scored");

        // Feedback after the fact: the truth for the contested birds is Chinstrap.
        foreach (var answer in answers)
        {
            await Lifecycle.FeedbackAsync(client, answer.GetProperty("id").GetInt64(), answer.GetProperty("billLengthMm").GetDouble() == 45 ? "Chinstrap" : "Adelie");
        }
        var pairs = await lifecycle.RowsAsync($"""
            SELECT p.model_version, p.species, s.version, s.species FROM predictions p JOIN shadow_predictions s ON s.prediction_id = p.id WHERE p.id > {from}
            """);
        var view = await client.GetFromJsonAsync<JsonElement>($"/api/models/{candidate}", Lifecycle.Json);
        var stats = view.GetProperty("shadow");
        var exposition = await new HttpClient().GetStringAsync(new Uri($"http://127.0.0.1:{lifecycle.Apps[0].MetricsPort}/metrics"));

        Assert.Multiple(() =>
        {
            Assert.That(made, Is.EqualTo(40));
            Assert.That(answers.Select(a => a.GetProperty("modelVersion").GetString()).Distinct(), Is.EqualTo(new[] { active }), "the active model answers");
            Assert.That(answers.Where(a => a.GetProperty("billLengthMm").GetDouble() == 45).Select(a => a.GetProperty("species").GetString()).Distinct(),
                Is.EqualTo(new[] { "Gentoo" }), "the answer is the active model's, not the shadow's");
            Assert.That(pairs.Select(p => (string)p[0]!).Distinct(), Is.EqualTo(new[] { active }));
            Assert.That(pairs.Select(p => (string)p[2]!).Distinct(), Is.EqualTo(new[] { candidate }));
            Assert.That(pairs.Where(p => (string)p[1]! == "Gentoo").Select(p => (string)p[3]!).Distinct(), Is.EqualTo(new[] { "Chinstrap" }));
            Assert.That(pairs.Where(p => (string)p[1]! == "Adelie").Select(p => (string)p[3]!).Distinct(), Is.EqualTo(new[] { "Adelie" }));
            Assert.That(stats.GetProperty("scored").GetInt64(), Is.EqualTo(40));
            Assert.That(stats.GetProperty("agreement").GetDouble(), Is.EqualTo(0.5).Within(1e-9));
            Assert.That(stats.GetProperty("withFeedback").GetInt64(), Is.EqualTo(10));
            Assert.That(stats.GetProperty("shadowAccuracy").GetDouble(), Is.EqualTo(1.0), "the shadow was right on every bird with feedback");
            Assert.That(stats.GetProperty("servedAccuracy").GetDouble(), Is.EqualTo(0.5), "the active model missed the contested ones");
            Assert.That(exposition, Does.Contain($"vigie_shadow_predictions_total{{model_version=\"{candidate}\",agreement=\"agree\"}}"));
        });
    }

    [Test]
    public async Task The_shadow_and_live_accuracy_gauges_follow_the_registry()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        var active = await lifecycle.ServedVersionAsync();
        var candidate = await ShadowCandidateAsync(lifecycle);
        using var client = lifecycle.Client();
        var prediction = await Lifecycle.PredictAsync(client, Bird.Contested);
        await WaitAsync(async () => await lifecycle.ScalarAsync<long>($"SELECT count(*) FROM shadow_predictions WHERE prediction_id = {prediction.GetProperty("id").GetInt64()}") == 1, "shadow-scored");
        await Lifecycle.FeedbackAsync(client, prediction.GetProperty("id").GetInt64(), "Chinstrap");
        using var http = new HttpClient();
        var metrics = new Uri($"http://127.0.0.1:{lifecycle.Apps[0].MetricsPort}/metrics");
        string exposition = "";
        await WaitAsync(async () =>
        {
            exposition = await http.GetStringAsync(metrics);
            return exposition.Contains($"vigie_model_live_accuracy_ratio{{model_version=\"{candidate}\",role=\"shadow\"}} 1", StringComparison.Ordinal);
        }, "the refreshed gauges");
        Assert.Multiple(() =>
        {
            Assert.That(exposition, Does.Contain($"vigie_model_shadow_agreement_ratio{{model_version=\"{candidate}\"}} 0"));
            Assert.That(exposition, Does.Contain($"vigie_model_accuracy_ratio{{model_version=\"{candidate}\",status=\"candidate\"}}"));
            Assert.That(exposition, Does.Contain($"vigie_model_accuracy_ratio{{model_version=\"{active}\",status=\"active\"}}"));
            Assert.That(exposition, Does.Contain($"vigie_model_info{{model_version=\"{active}\",trainer=\"LbfgsMaximumEntropy\"}} 1"));
        });
    }

    [Test]
    public async Task Predictions_made_just_before_the_shadow_is_promoted_are_still_scored_by_it()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        var candidate = await ShadowCandidateAsync(lifecycle);
        using var admin = lifecycle.Admin();
        using var client = lifecycle.Client();
        var from = await lifecycle.ScalarAsync<long>("SELECT coalesce(max(id), 0) FROM predictions");
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Lifecycle.PredictAsync(client, Bird.Contested)));
        // Promoted at once, while the shadow scores are still queued: the queued predictions keep the model they were offered to.
        using (var promote = await admin.PostAsync(new Uri($"/api/models/{candidate}/promote", UriKind.Relative), null))
        {
            Assert.That(promote.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        await WaitAsync(async () => await lifecycle.ScalarAsync<long>($"SELECT count(*) FROM shadow_predictions WHERE prediction_id > {from} AND version = '{candidate}'") == 20,
            "the 20 predictions scored by the former shadow");
    }

    [Test]
    public async Task When_the_shadow_queue_is_full_predictions_are_answered_and_every_one_not_scored_is_counted()
    {
        await using var lifecycle = await Lifecycle.StartAsync(settings: new Dictionary<string, string> { ["Models:ShadowQueueCapacity"] = "1" });
        var candidate = await ShadowCandidateAsync(lifecycle);
        using var client = lifecycle.Client();
        var from = await lifecycle.ScalarAsync<long>("SELECT coalesce(max(id), 0) FROM predictions");

        // A queue of one and 300 predictions at once: the worker's own inserts leave it full most of the time.
        var answers = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => Lifecycle.PredictAsync(client, Bird.Adelie)));
        var made = await lifecycle.ScalarAsync<long>($"SELECT count(*) FROM predictions WHERE id > {from}");
        using var http = new HttpClient();
        var metrics = new Uri($"http://127.0.0.1:{lifecycle.Apps[0].MetricsPort}/metrics");
        long scored = 0, skipped = 0;
        await WaitAsync(async () =>
        {
            scored = await lifecycle.ScalarAsync<long>($"SELECT count(*) FROM shadow_predictions WHERE prediction_id > {from}");
            var exposition = await http.GetStringAsync(metrics);
            var line = exposition.Split('\n').Single(l => l.StartsWith("vigie_shadow_skipped_total ", StringComparison.Ordinal));
            skipped = (long)double.Parse(line["vigie_shadow_skipped_total ".Length..], CultureInfo.InvariantCulture);
            return scored + skipped == made;
        }, "every prediction shadow-scored or counted as skipped");

        Assert.Multiple(() =>
        {
            Assert.That(answers.Select(a => a.GetProperty("id").GetInt64()).Distinct().Count(), Is.EqualTo(300), "every prediction answered and stored");
            Assert.That(made, Is.EqualTo(300));
            Assert.That(skipped, Is.GreaterThan(0), "a queue of one kept up with 300 concurrent predictions");
            Assert.That(scored + skipped, Is.EqualTo(made));
        });
    }

    [Test]
    public async Task The_shadow_tallies_match_a_recount_after_scoring_and_after_predictions_are_deleted()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        var candidate = await ShadowCandidateAsync(lifecycle);
        using var client = lifecycle.Client();
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Lifecycle.PredictAsync(client, i % 4 == 0 ? Bird.Contested : Bird.Adelie)));
        await WaitAsync(async () => await lifecycle.ScalarAsync<long>($"SELECT count(*) FROM shadow_predictions WHERE version = '{candidate}'") == 20, "20 shadow scores");
        const string Recount = "SELECT count(*) || '/' || count(*) FILTER (WHERE s.species = p.species) FROM shadow_predictions s JOIN predictions p ON p.id = s.prediction_id WHERE s.version = '{0}'";
        var tally = $"SELECT scored || '/' || agreed FROM shadow_tallies WHERE version = '{candidate}'";
        var afterScoring = (await lifecycle.ScalarAsync<string>(tally), await lifecycle.ScalarAsync<string>(string.Format(CultureInfo.InvariantCulture, Recount, candidate)));

        // A contested bird (the models disagree) and an Adelie (they agree) go, and their shadow scores with them.
        var removed = answers.Where(a => a.GetProperty("billLengthMm").GetDouble() == 45).Take(1)
            .Concat(answers.Where(a => a.GetProperty("billLengthMm").GetDouble() != 45).Take(1))
            .Select(a => a.GetProperty("id").GetInt64()).ToList();
        await lifecycle.ScalarAsync<long>($"WITH d AS (DELETE FROM predictions WHERE id IN ({string.Join(",", removed)}) RETURNING 1) SELECT count(*) FROM d");
        var afterDelete = (await lifecycle.ScalarAsync<string>(tally), await lifecycle.ScalarAsync<string>(string.Format(CultureInfo.InvariantCulture, Recount, candidate)));
        var view = await lifecycle.ScalarAsync<double>($"SELECT agreement FROM shadow_evaluation WHERE version = '{candidate}'");

        Assert.Multiple(() =>
        {
            Assert.That(afterScoring.Item1, Is.EqualTo("20/15"), "15 Adelies agreed, 5 contested birds did not");
            Assert.That(afterScoring.Item1, Is.EqualTo(afterScoring.Item2));
            Assert.That(afterDelete.Item1, Is.EqualTo("18/14"));
            Assert.That(afterDelete.Item1, Is.EqualTo(afterDelete.Item2));
            Assert.That(view, Is.EqualTo(14.0 / 18).Within(1e-12));
        });
    }

    [Test]
    public async Task A_shadow_score_for_a_prediction_or_version_that_does_not_exist_is_refused_by_the_database()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        var active = await lifecycle.ServedVersionAsync();
        using var client = lifecycle.Client();
        var prediction = (await Lifecycle.PredictAsync(client, Bird.Adelie)).GetProperty("id").GetInt64();
        const string Insert = "INSERT INTO shadow_predictions (prediction_id, version, species, confidence) VALUES ({0}, '{1}', 'Adelie', 0.9)";

        var missingPrediction = Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            lifecycle.ScalarAsync<long>(string.Format(CultureInfo.InvariantCulture, Insert, prediction + 1_000_000, active)));
        var missingVersion = Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            lifecycle.ScalarAsync<long>(string.Format(CultureInfo.InvariantCulture, Insert, prediction, "no-such-version")));

        Assert.Multiple(async () =>
        {
            Assert.That(missingPrediction!.SqlState, Is.EqualTo("23503"), missingPrediction.Message);
            Assert.That(missingVersion!.SqlState, Is.EqualTo("23503"), missingVersion.Message);
            Assert.That(await lifecycle.ScalarAsync<long>("SELECT count(*) FROM shadow_predictions"), Is.Zero);
            Assert.That(await lifecycle.ScalarAsync<long>("SELECT count(*) FROM shadow_tallies"), Is.Zero);
        });
    }

    /// <summary>Trains a candidate and puts it in shadow; returns its version.</summary>
    private static async Task<string> ShadowCandidateAsync(Lifecycle lifecycle)
    {
        var candidate = await lifecycle.TrainCandidateAsync();
        using var admin = lifecycle.Admin();
        using var shadow = await admin.PostAsync(new Uri($"/api/models/{candidate}/shadow", UriKind.Relative), null);
        Assert.That(shadow.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return candidate;
    }

    private static async Task<bool> ShadowLoadedAsync(Lifecycle lifecycle, int instance, string version)
    {
        using var client = lifecycle.Client(instance);
        var model = await client.GetFromJsonAsync<JsonElement>("/api/model", Lifecycle.Json);
        return model.GetProperty("shadowVersion").GetString() == version;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        for (var i = 0; i < 200; i++)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"Timed out waiting for {what}.");
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Vigie.Tests.Features.Models;

/// <summary>
/// Model honesty through the real app and PostgreSQL: each prediction is judged against the training data of the
/// version that served it and keeps that judgement through promotions; calibration is read from feedback per version.
/// </summary>
[NonParallelizable]
public sealed class ModelHonestyTests
{
    // 1.4 standard deviations heavier than any penguin of the base data (6,300 g), otherwise an ordinary Gentoo.
    private static readonly Bird Heavy = new(47, 15, 217, 7400);

    [Test]
    public async Task The_flag_survives_a_promotion_each_prediction_keeping_the_judgement_of_the_version_that_served_it()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        using var client = lifecycle.Client();
        using var admin = lifecycle.Admin();
        var baseVersion = await lifecycle.ServedVersionAsync();
        var before = await Lifecycle.PredictAsync(client, Heavy);

        // Feedback on heavy Gentoos: the candidate trains on them, so its training range covers such birds.
        for (var i = 0; i < 30; i++)
        {
            var heavy = await Lifecycle.PredictAsync(client, Heavy with { BodyMassG = 7000 + i * 25 });
            await Lifecycle.FeedbackAsync(client, heavy.GetProperty("id").GetInt64(), "Gentoo");
        }
        var run = await Lifecycle.TrainAsync(admin);
        var candidate = run.GetProperty("candidateVersion").GetString()!;
        using (var promote = await admin.PostAsync(new Uri($"/api/models/{candidate}/promote", UriKind.Relative), null))
        {
            Assert.That(promote.StatusCode, Is.EqualTo(HttpStatusCode.OK), await promote.Content.ReadAsStringAsync());
        }
        var after = await Lifecycle.PredictAsync(client, Heavy);
        var beforeAgain = await client.GetFromJsonAsync<JsonElement>($"/api/predictions/{before.GetProperty("id").GetInt64()}", Lifecycle.Json);
        var stored = (await lifecycle.RowsAsync($"SELECT model_version, ood_features FROM predictions WHERE id = {before.GetProperty("id").GetInt64()}")).Single();
        var profiles = await lifecycle.ScalarAsync<long>("SELECT count(*) FROM model_versions WHERE training_profile IS NOT NULL");
        var detail = await client.GetStringAsync(new Uri($"/Predictions/{before.GetProperty("id").GetInt64()}", UriKind.Relative));
        var history = await client.GetStringAsync(new Uri("/History?limit=200", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(before.GetProperty("modelVersion").GetString(), Is.EqualTo(baseVersion));
            Assert.That(before.GetProperty("outOfDistribution").GetProperty("flagged").GetBoolean(), Is.True);
            Assert.That(before.GetProperty("outOfDistribution").GetProperty("features").EnumerateArray().Select(f => f.GetString()), Is.EqualTo(new[] { "bodyMassG" }));
            Assert.That(before.GetProperty("outOfDistribution").GetProperty("score").GetDouble(), Is.GreaterThan(1));
            Assert.That(after.GetProperty("modelVersion").GetString(), Is.EqualTo(candidate));
            Assert.That(after.GetProperty("outOfDistribution").GetProperty("flagged").GetBoolean(), Is.False, "the promoted version trained on such birds");
            Assert.That(beforeAgain.GetProperty("outOfDistribution").GetProperty("flagged").GetBoolean(), Is.True, "the old prediction keeps its flag");
            Assert.That(beforeAgain.GetProperty("modelVersion").GetString(), Is.EqualTo(baseVersion));
            Assert.That(stored[0], Is.EqualTo(baseVersion));
            Assert.That(stored[1], Is.EqualTo("body_mass_g"));
            Assert.That(profiles, Is.EqualTo(2), "both versions keep the profile of their training data");
            Assert.That(detail, Does.Contain("Unlike the birds this model was trained on: treat the answer with caution."));
            Assert.That(detail, Does.Contain("Body mass"));
            Assert.That(history, Does.Contain("unlike training data: Body mass"));
        });
    }

    [Test]
    public async Task A_bird_inside_the_training_ranges_is_answered_without_a_flag()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        using var client = lifecycle.Client();
        var adelie = await Lifecycle.PredictAsync(client, Bird.Adelie);
        var ood = adelie.GetProperty("outOfDistribution");
        Assert.Multiple(() =>
        {
            Assert.That(ood.GetProperty("flagged").GetBoolean(), Is.False);
            Assert.That(ood.GetProperty("score").GetDouble(), Is.Zero);
            Assert.That(ood.GetProperty("features").GetArrayLength(), Is.Zero);
        });
    }

    [Test]
    public async Task The_calibration_of_a_version_on_its_feedback_matches_a_hand_computation()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        var version = await lifecycle.ServedVersionAsync();
        // Seven answers with feedback: five at 90–100 % (four right), one at 55 % (right), one at 65 % (wrong). By hand:
        // bucket 9: mean confidence 0.96, accuracy 0.8; bucket 5: 0.55, 1; bucket 6: 0.65, 0.
        // ECE = 5/7 · 0.16 + 1/7 · 0.45 + 1/7 · 0.65 = 1.9 / 7 = 0.2714…
        var answers = new (double Confidence, string Actual)[]
        {
            (0.95, "Adelie"), (0.95, "Adelie"), (0.92, "Gentoo"), (0.98, "Adelie"), (1.0, "Adelie"), (0.55, "Adelie"), (0.65, "Chinstrap"),
        };
        foreach (var (confidence, actual) in answers)
        {
            var rest = (1 - confidence) / 2;
            await lifecycle.RowsAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"""
                INSERT INTO predictions (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence,
                                         probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version,
                                         actual_species, feedback_at)
                VALUES (39.1, 18.7, 181, 3750, 'Adelie', {confidence}, {confidence}, {rest}, {rest}, 'api', '{version}', '{actual}', now())
                """));
        }
        using var client = lifecycle.Client();
        var view = await client.GetFromJsonAsync<JsonElement>($"/api/models/{version}", Lifecycle.Json);
        var calibration = view.GetProperty("calibration");
        var buckets = calibration.GetProperty("buckets").EnumerateArray().ToList();
        var page = await client.GetStringAsync(new Uri("/Models", UriKind.Relative));
        Assert.Multiple(() =>
        {
            Assert.That(calibration.GetProperty("predictions").GetInt64(), Is.EqualTo(7));
            Assert.That(calibration.GetProperty("expectedCalibrationError").GetDouble(), Is.EqualTo(1.9 / 7).Within(1e-9));
            Assert.That(buckets.Select(b => b.GetProperty("bucket").GetInt32()), Is.EqualTo(new[] { 5, 6, 9 }));
            Assert.That(buckets[2].GetProperty("meanConfidence").GetDouble(), Is.EqualTo(0.96).Within(1e-9));
            Assert.That(buckets[2].GetProperty("accuracy").GetDouble(), Is.EqualTo(0.8).Within(1e-9));
            Assert.That(page, Does.Contain("calibration error 0.271 on 7 answers with feedback"));
        });
    }

    [Test]
    public async Task The_openapi_document_describes_the_out_of_distribution_fields()
    {
        await using var lifecycle = await Lifecycle.StartAsync();
        using var client = lifecycle.Client();
        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Lifecycle.Json);
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var report = schemas.GetProperty("OutOfDistributionReport");
        Assert.Multiple(() =>
        {
            Assert.That(report.GetProperty("description").GetString(), Does.Contain("training range"));
            foreach (var field in new[] { "flagged", "score", "features" })
            {
                Assert.That(report.GetProperty("properties").GetProperty(field).TryGetProperty("description", out var description) && description.GetString()!.Length > 10,
                    Is.True, field);
            }
            Assert.That(schemas.GetProperty("Prediction").GetProperty("properties").TryGetProperty("outOfDistribution", out _), Is.True);
            Assert.That(schemas.GetProperty("BatchReport").GetProperty("properties").GetProperty("outOfDistribution").TryGetProperty("description", out _), Is.True);
        });
    }
}

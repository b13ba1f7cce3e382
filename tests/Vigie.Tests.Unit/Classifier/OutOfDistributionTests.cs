using Vigie.Web.Classifier;

namespace Vigie.Tests.Unit.Classifier;

/// <summary>
/// The out-of-distribution score judged on the two populations it must tell apart: the held-out split of the base data
/// (real penguins the model never trained on: flagged rarely) and synthetic birds beyond the training ranges (always
/// flagged, naming the measurements at fault).
/// </summary>
public sealed class OutOfDistributionTests
{
    private static OutOfDistributionCheck Check => BaseTrainingProfile.Check;

    [Test]
    public void Held_out_penguins_are_rarely_flagged()
    {
        var heldOut = BaseTrainingProfile.HeldOutRows;
        var flagged = heldOut.Count(row => Check.Assess(row.ToMeasurements()).Flagged);
        var outsideRange = heldOut.Count(row => Check.Assess(row.ToMeasurements()).Score > 0);
        var rate = (double)flagged / heldOut.Count;
        TestContext.Out.WriteLine($"held-out rows: {heldOut.Count}; beyond a training range at all: {outsideRange}; flagged: {flagged} (false-alarm rate {rate:P1}); " +
            $"largest score {heldOut.Max(row => Check.Assess(row.ToMeasurements()).Score):F3}");
        Assert.That(rate, Is.LessThanOrEqualTo(0.02));
    }

    [Test]
    public void Each_penguin_judged_against_all_the_others_is_rarely_flagged()
    {
        // Leave-one-out over the whole data set: a larger sample of unseen real birds than the 58 held-out rows, and the
        // extremes of the data (the birds that set a range) are the hardest case.
        var rows = BaseTrainingProfile.Data.Observations.Select(o => PenguinRow.From(o.Measurements, o.Species)).ToList();
        var flagged = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var others = rows.Where((_, j) => j != i).ToList();
            var check = new OutOfDistributionCheck(TrainingProfile.Of(others), Check.Margin);
            flagged += check.Assess(rows[i].ToMeasurements()).Flagged ? 1 : 0;
        }
        var rate = (double)flagged / rows.Count;
        TestContext.Out.WriteLine($"leave-one-out: {flagged} of {rows.Count} penguins flagged (false-alarm rate {rate:P1})");
        Assert.That(rate, Is.LessThanOrEqualTo(0.02));
    }

    [Test]
    public void The_bird_of_issue_19_is_flagged_on_every_measurement()
    {
        // 99 mm bill, 39 mm depth, 110 mm flippers, 9,999 g: inside the form's accepted ranges, unlike any penguin.
        var judgement = Check.Assess(new Measurements(99, 39, 110, 9999));
        Assert.Multiple(() =>
        {
            Assert.That(judgement.Flagged, Is.True);
            Assert.That(judgement.Features, Is.EqualTo(Measurement.All));
            Assert.That(judgement.Score, Is.GreaterThan(Check.Margin));
        });
    }

    [Test]
    public void A_bird_beyond_the_training_range_of_one_measurement_is_always_flagged_and_that_measurement_named()
    {
        // For each measurement and each side, typical values elsewhere and this one beyond the training range by just
        // over the margin, by twice it, and far out: every one must be flagged, naming that measurement alone.
        var typical = new Measurements(44, 17, 200, 4200);
        var random = new Random(19);
        foreach (var (measurement, feature) in Measurement.All.Zip(Check.Profile.Features))
        {
            foreach (var side in new[] { -1, 1 })
            {
                var edge = side < 0 ? feature.Min : feature.Max;
                foreach (var beyond in new[] { 1.001, 2, 10 }.Concat(Enumerable.Range(0, 20).Select(_ => 1.001 + random.NextDouble() * 20)))
                {
                    var value = edge + side * beyond * Check.Margin * feature.StandardDeviation;
                    var bird = Measurements.From(m => m == measurement ? value : m.Read(typical));
                    var judgement = Check.Assess(bird);
                    Assert.That(judgement.Features, Is.EqualTo(new[] { measurement }), $"{measurement.Label} = {value}");
                }
            }
        }
    }

    [Test]
    public void A_bird_inside_every_training_range_scores_zero()
    {
        var judgement = Check.Assess(new Measurements(44, 17, 200, 4200));
        Assert.Multiple(() =>
        {
            Assert.That(judgement.Flagged, Is.False);
            Assert.That(judgement.Score, Is.Zero);
        });
    }

    [Test]
    public void A_version_trained_on_larger_birds_stops_flagging_them()
    {
        var heavy = new Measurements(44, 17, 200, 7500);
        var heavier = BaseTrainingProfile.TrainingRows.Append(PenguinRow.From(new Measurements(45, 16, 215, 7600), Species.Gentoo)).ToList();
        var retrained = new OutOfDistributionCheck(TrainingProfile.Of(heavier), Check.Margin);
        Assert.Multiple(() =>
        {
            Assert.That(Check.Assess(heavy).Features, Is.EqualTo(new[] { Measurement.BodyMass }));
            Assert.That(retrained.Assess(heavy).Flagged, Is.False);
        });
    }

    [Test]
    public void The_profile_survives_its_round_trip_through_the_registry()
    {
        var profile = Check.Profile;
        var again = TrainingProfile.FromJson(profile.ToJson());
        Assert.Multiple(() =>
        {
            Assert.That(again.Features, Is.EqualTo(profile.Features));
            Assert.That(again.SpeciesShares, Is.EquivalentTo(profile.SpeciesShares));
            Assert.That(again.Rows, Is.EqualTo(profile.Rows));
        });
    }
}

using Vigie.Web.Classifier;

namespace Vigie.Tests.Unit.Classifier;

public sealed class CalibrationTests
{
    // Seven answers with feedback: five in the 90–100 % bucket (four right), one at 55 % (right), one at 65 % (wrong).
    private static readonly (double Confidence, bool Correct)[] Feedback =
    [
        (0.95, true), (0.95, true), (0.92, false), (0.98, true), (1.0, true),
        (0.55, true),
        (0.65, false),
    ];

    [Test]
    public void The_reliability_table_and_calibration_error_match_a_hand_computation()
    {
        // By hand: bucket 9: 5 answers, mean confidence (0.95 + 0.95 + 0.92 + 0.98 + 1.0) / 5 = 0.96, accuracy 4/5 = 0.8;
        // bucket 5: 1 answer, 0.55, accuracy 1; bucket 6: 1 answer, 0.65, accuracy 0.
        // ECE = 5/7 · |0.8 − 0.96| + 1/7 · |1 − 0.55| + 1/7 · |0 − 0.65| = (0.8 + 0.45 + 0.65) / 7 = 1.9 / 7.
        var calibration = Calibration.Of(Feedback)!;
        Assert.Multiple(() =>
        {
            Assert.That(calibration.Predictions, Is.EqualTo(7));
            Assert.That(calibration.ExpectedCalibrationError, Is.EqualTo(1.9 / 7).Within(1e-12));
            Assert.That(calibration.Buckets.Select(b => b.Bucket), Is.EqualTo(new[] { 5, 6, 9 }));
            Assert.That(calibration.Buckets.Select(b => b.Predictions), Is.EqualTo(new long[] { 1, 1, 5 }));
            Assert.That(calibration.Buckets[2].MeanConfidence, Is.EqualTo(0.96).Within(1e-12));
            Assert.That(calibration.Buckets[2].Accuracy, Is.EqualTo(0.8).Within(1e-12));
            Assert.That(calibration.Buckets[2].Gap, Is.EqualTo(-0.16).Within(1e-12));
            Assert.That(calibration.Buckets[0].Lower, Is.EqualTo(0.5));
            Assert.That(calibration.Buckets[0].Upper, Is.EqualTo(0.6));
        });
    }

    [Test]
    public void Buckets_aggregated_by_the_database_give_the_same_figures()
    {
        var fromBuckets = Calibration.FromBuckets([(9, 5, 0.96, 0.8), (5, 1, 0.55, 1.0), (6, 1, 0.65, 0.0), (3, 0, 0, 0)])!;
        Assert.Multiple(() =>
        {
            Assert.That(fromBuckets.ExpectedCalibrationError, Is.EqualTo(1.9 / 7).Within(1e-12));
            Assert.That(fromBuckets.Buckets.Select(b => b.Bucket), Is.EqualTo(new[] { 5, 6, 9 }));
        });
    }

    [Test]
    public void A_model_right_exactly_as_often_as_it_is_confident_has_no_calibration_error_and_no_feedback_gives_none()
    {
        var calibrated = Calibration.Of([(0.75, true), (0.75, true), (0.75, true), (0.75, false)])!;
        Assert.Multiple(() =>
        {
            Assert.That(calibrated.ExpectedCalibrationError, Is.EqualTo(0).Within(1e-12));
            Assert.That(Calibration.Of([]), Is.Null);
            Assert.That(Calibration.BucketOf(1.0), Is.EqualTo(9));
            Assert.That(Calibration.BucketOf(0.0999), Is.EqualTo(0));
        });
    }

    [Test]
    public void The_base_model_is_well_calibrated_on_its_held_out_rows()
    {
        var trained = SpeciesModelTrainer.Train(BaseTrainingProfile.Data);
        var heldOut = ModelEvaluator.Evaluate(trained.Transformer, BaseTrainingProfile.HeldOutRows.ToList())!;
        var calibration = heldOut.Calibration!;
        TestContext.Out.WriteLine($"held-out rows {calibration.Predictions}, accuracy {heldOut.Accuracy:P1}, ECE {calibration.ExpectedCalibrationError:F3}; " +
            string.Join("; ", calibration.Buckets.Select(b => $"{b.Lower:P0}-{b.Upper:P0}: {b.Predictions} answers, confidence {b.MeanConfidence:P1}, accuracy {b.Accuracy:P1}")));
        Assert.Multiple(() =>
        {
            Assert.That(calibration.Predictions, Is.EqualTo(heldOut.Rows));
            Assert.That(calibration.ExpectedCalibrationError, Is.LessThan(0.1));
        });
    }
}

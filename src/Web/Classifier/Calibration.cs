namespace Vigie.Web.Classifier;

/// <summary>
/// One confidence bucket of a reliability table: the answers whose confidence fell in [<see cref="Lower"/>,
/// <see cref="Upper"/>) (the last bucket includes 1), their mean confidence and the share that were right.
/// </summary>
/// <param name="Bucket">Index of the confidence tenth (0..9).</param>
/// <param name="Lower">Lowest confidence of the bucket.</param>
/// <param name="Upper">Confidence the bucket stops below (1 included in the last).</param>
/// <param name="Predictions">Answers with feedback in the bucket.</param>
/// <param name="MeanConfidence">Their mean confidence.</param>
/// <param name="Accuracy">Share of them that were right.</param>
public sealed record ReliabilityBucket(int Bucket, double Lower, double Upper, long Predictions, double MeanConfidence, double Accuracy)
{
    /// <summary>Accuracy − mean confidence: negative when the model is over-confident in this bucket.</summary>
    public double Gap => Accuracy - MeanConfidence;
}

/// <summary>
/// How well a model's confidence matches how often it is right, on labelled answers: the reliability table over
/// confidence tenths (empty buckets left out) and the expected calibration error, ECE = Σ (nᵦ / n) · |accuracyᵦ −
/// mean confidenceᵦ|. An ECE of 0.02 means that, weighted by how often each confidence is given, "93 % confident" is
/// right 91–95 % of the time.
/// </summary>
/// <param name="Predictions">Labelled answers measured.</param>
/// <param name="ExpectedCalibrationError">Σ (nᵦ / n) · |accuracyᵦ − mean confidenceᵦ| over the buckets (0..1; 0 is perfectly calibrated).</param>
/// <param name="Buckets">The reliability table, non-empty buckets in confidence order.</param>
public sealed record Calibration(long Predictions, double ExpectedCalibrationError, IReadOnlyList<ReliabilityBucket> Buckets)
{
    /// <summary>Confidence buckets: tenths, as the <c>model_calibration</c> view groups them.</summary>
    public const int BucketCount = 10;

    /// <summary>The bucket of <paramref name="confidence"/> (0..9; a confidence of 1 falls in the last).</summary>
    public static int BucketOf(double confidence) => Math.Clamp((int)Math.Floor(confidence * BucketCount), 0, BucketCount - 1);

    /// <summary>The calibration of labelled answers; null when there are none.</summary>
    public static Calibration? Of(IEnumerable<(double Confidence, bool Correct)> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var buckets = answers
            .GroupBy(a => BucketOf(a.Confidence))
            .Select(g => (Bucket: g.Key, Predictions: (long)g.Count(), MeanConfidence: g.Average(a => a.Confidence), Accuracy: g.Average(a => a.Correct ? 1.0 : 0.0)));
        return FromBuckets(buckets);
    }

    /// <summary>The calibration from per-bucket counts, as the database aggregates them; null when there are none.</summary>
    public static Calibration? FromBuckets(IEnumerable<(int Bucket, long Predictions, double MeanConfidence, double Accuracy)> buckets)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        var table = buckets
            .Where(b => b.Predictions > 0)
            .OrderBy(b => b.Bucket)
            .Select(b => new ReliabilityBucket(b.Bucket, (double)b.Bucket / BucketCount, (double)(b.Bucket + 1) / BucketCount, b.Predictions, b.MeanConfidence, b.Accuracy))
            .ToList();
        var total = table.Sum(b => b.Predictions);
        if (total == 0)
        {
            return null;
        }
        var ece = table.Sum(b => (double)b.Predictions / total * Math.Abs(b.Accuracy - b.MeanConfidence));
        return new Calibration(total, ece, table);
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.ML;

namespace Vigie.Web.Classifier;

/// <summary>A stored prediction whose feedback gave the true species: one labelled row for retraining.</summary>
public sealed record FeedbackRow(long PredictionId, Measurements Measurements, string ActualSpecies);

/// <summary>
/// What a model version was trained on: the base data set (file hash, rows of its training split) and the feedback
/// (prediction ids up to <see cref="FeedbackUpToPredictionId"/>, split into training and held-out rows by id).
/// </summary>
public sealed record ModelLineage(
    string BaseDataSha256,
    int BaseTrainingRows,
    long? FeedbackUpToPredictionId,
    int FeedbackTrainingRows,
    int FeedbackHeldOutRows,
    int TrainingRows,
    int HeldOutRows,
    string? ParentVersion);

/// <summary>
/// A freshly trained model with its serialized bytes, lineage, held-out metrics, the rows it was evaluated on and the
/// profile of the rows it was trained on (what its predictions are judged against for out-of-distribution inputs).
/// </summary>
public sealed record TrainedCandidate(
    TrainedSpeciesModel Model,
    string Settings,
    byte[] Bytes,
    ModelLineage Lineage,
    ModelEvaluation HeldOut,
    IReadOnlyList<PenguinRow> HeldOutRows,
    IReadOnlyList<PenguinRow> RecentFeedbackRows,
    TrainingProfile Profile);

/// <summary>
/// Retraining from feedback. The candidate trains on the base data's training split plus the feedback rows whose
/// prediction id falls in the training part of a fixed id hash (four in five); the other fifth of the feedback joins
/// the base data's held-out split as evaluation rows. Because the split depends on the id only, a feedback row is on the
/// same side for every version, so a retrained model and the one it may replace are compared on rows neither trained on.
/// </summary>
public static class FeedbackTraining
{
    /// <summary>One feedback row in <see cref="HeldOutModulus"/> is held out.</summary>
    public const int HeldOutModulus = 5;

    /// <summary>The settings of a model trained with feedback: the base settings plus the feedback split.</summary>
    public static string Settings { get; } = SpeciesModelTrainer.Settings + ";feedback_held_out=splitmix64(id)%5==0";

    /// <summary>True when the feedback of prediction <paramref name="predictionId"/> is an evaluation row, never a training row.</summary>
    public static bool IsHeldOut(long predictionId)
    {
        // SplitMix64's finaliser: consecutive ids land on either side evenly.
        var z = unchecked((ulong)predictionId + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return z % HeldOutModulus == 0;
    }

    /// <summary>
    /// Version of a model trained on <paramref name="data"/> plus <paramref name="trainingFeedback"/>: without feedback
    /// it is the base version (<see cref="SpeciesModelTrainer.VersionOf"/>), otherwise a hash that also covers every
    /// feedback row (prediction id and true species), so the same evidence always gives the same version.
    /// </summary>
    public static string VersionOf(PenguinDataSet data, IReadOnlyCollection<FeedbackRow> trainingFeedback)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(trainingFeedback);
        if (trainingFeedback.Count == 0)
        {
            return SpeciesModelTrainer.VersionOf(data);
        }
        var text = new StringBuilder(data.Sha256).Append('\n').Append(Settings).Append("\nfeedback:");
        foreach (var row in trainingFeedback.OrderBy(r => r.PredictionId))
        {
            text.Append(CultureInfo.InvariantCulture, $"\n{row.PredictionId},{row.ActualSpecies}");
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..12];
    }

    /// <summary>
    /// Trains a candidate on the base training split plus the training part of <paramref name="feedback"/>, and
    /// evaluates it on the base held-out split plus the held-out feedback. <paramref name="recentFeedbackRows"/> of the
    /// newest held-out feedback rows are kept as the "recent feedback" evidence.
    /// </summary>
    public static TrainedCandidate Train(PenguinDataSet data, IReadOnlyList<FeedbackRow> feedback, string? parentVersion, int recentFeedbackRows)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(feedback);
        var (baseTrain, baseHeldOut) = SpeciesModelTrainer.SplitRows(data);
        var feedbackTrain = feedback.Where(f => !IsHeldOut(f.PredictionId)).ToList();
        var feedbackHeldOut = feedback.Where(f => IsHeldOut(f.PredictionId)).OrderBy(f => f.PredictionId).ToList();
        var version = VersionOf(data, feedbackTrain);
        var trainRows = baseTrain.Concat(feedbackTrain.OrderBy(f => f.PredictionId).Select(ToRow)).ToList();
        var heldOutRows = baseHeldOut.Concat(feedbackHeldOut.Select(ToRow)).ToList();
        var recent = feedbackHeldOut.TakeLast(Math.Max(0, recentFeedbackRows)).Select(ToRow).ToList();

        var ml = new MLContext(SpeciesModelTrainer.Seed);
        var trainView = ml.Data.LoadFromEnumerable(trainRows);
        var transformer = SpeciesModelTrainer.Pipeline(ml).Fit(trainView);
        var heldOut = ModelEvaluator.Evaluate(transformer, heldOutRows)!;
        var trained = new TrainedSpeciesModel(ml, transformer, trainView.Schema, version, SpeciesModelTrainer.TrainerName, heldOut.Accuracy);
        var lineage = new ModelLineage(data.Sha256, baseTrain.Count, feedback.Count == 0 ? null : feedback.Max(f => f.PredictionId),
            feedbackTrain.Count, feedbackHeldOut.Count, trainRows.Count, heldOutRows.Count, parentVersion);
        return new TrainedCandidate(trained, feedbackTrain.Count == 0 ? SpeciesModelTrainer.Settings : Settings, ModelBytes.Save(trained),
            lineage, heldOut, heldOutRows, recent, TrainingProfile.Of(trainRows));
    }

    /// <summary>The base model as the registry records it on first start: lineage of the base data only, metrics on its held-out split.</summary>
    public static TrainedCandidate Base(TrainedSpeciesModel trained, PenguinDataSet data, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(trained);
        ArgumentNullException.ThrowIfNull(data);
        var (baseTrain, baseHeldOut) = SpeciesModelTrainer.SplitRows(data);
        var heldOut = ModelEvaluator.Evaluate(trained.Transformer, baseHeldOut)!;
        var lineage = new ModelLineage(data.Sha256, baseTrain.Count, null, 0, 0, baseTrain.Count, baseHeldOut.Count, null);
        return new TrainedCandidate(trained, SpeciesModelTrainer.Settings, bytes, lineage, heldOut, baseHeldOut, [], TrainingProfile.Of(baseTrain));
    }

    private static PenguinRow ToRow(FeedbackRow row) => PenguinRow.From(row.Measurements, row.ActualSpecies);
}

/// <summary>The serialized form of a model (ML.NET's zip) as the registry stores it.</summary>
public static class ModelBytes
{
    public static byte[] Save(TrainedSpeciesModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var stream = new MemoryStream();
        model.Context.Model.Save(model.Transformer, model.InputSchema, stream);
        return stream.ToArray();
    }

    /// <summary>Loads a serialized model; the version, trainer and accuracy are the registry's.</summary>
    public static TrainedSpeciesModel Load(byte[] bytes, string version, string trainer, double heldOutAccuracy)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var ml = new MLContext(SpeciesModelTrainer.Seed);
        using var stream = new MemoryStream(bytes, writable: false);
        var transformer = ml.Model.Load(stream, out var schema);
        return new TrainedSpeciesModel(ml, transformer, schema, version, trainer, heldOutAccuracy);
    }

    /// <summary>Lower-case hex SHA-256 of the bytes, the registry's content hash.</summary>
    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}

using System.Text.Json;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Models;

/// <summary>Registry status of a model version.</summary>
public static class ModelStatus
{
    public const string Candidate = "candidate";
    public const string Active = "active";
    public const string Retired = "retired";
}

/// <summary>Two models' metrics on the same rows.</summary>
public sealed record EvaluationPair(ModelEvaluation Candidate, ModelEvaluation Active);

/// <summary>
/// A retrained version beside the version that was active when it was trained, on the same evidence: the held-out rows
/// (base test split + held-out feedback) and the most recent held-out feedback (null when there was none).
/// </summary>
public sealed record ModelComparison(string AgainstVersion, EvaluationPair HeldOut, EvaluationPair? RecentFeedback);

/// <summary>Feedback on the predictions a version answered: how many, and the share it got right.</summary>
public sealed record LiveAccuracy(long WithFeedback, long Correct, double? Accuracy);

/// <summary>What shadow scoring recorded for a version: predictions scored, agreement with the answer given, and accuracy of both on later feedback.</summary>
public sealed record ShadowStats(long Scored, double? Agreement, long WithFeedback, double? ShadowAccuracy, double? ServedAccuracy);

/// <summary>A model version as <c>GET /api/models</c> and the Models page show it.</summary>
public sealed record ModelVersionView(
    string Version,
    string Status,
    bool InShadow,
    DateTimeOffset? ShadowSince,
    string Trainer,
    string Settings,
    string ContentSha256,
    ModelLineage Lineage,
    ModelEvaluation HeldOut,
    ModelComparison? Comparison,
    LiveAccuracy? Live,
    ShadowStats? Shadow,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ActivatedAt,
    DateTimeOffset? RetiredAt)
{
    /// <summary>
    /// Calibration of the answers this version gave, on the feedback they received (the <c>model_calibration</c> view):
    /// reliability table and expected calibration error; null until one of its answers got feedback.
    /// </summary>
    public Calibration? Calibration { get; init; }
}

/// <summary>The registry at a glance: the active version, the one in shadow, and every version newest first.</summary>
public sealed record ModelRegistryView(string? Active, string? Shadow, IReadOnlyList<ModelVersionView> Versions);

/// <summary>A retraining run as <c>GET /api/models/training</c> reports it.</summary>
public sealed record TrainingRunView(
    long Id,
    string Status,
    string Stage,
    string Instance,
    DateTimeOffset RequestedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? CandidateVersion,
    string? Outcome,
    string? Error)
{
    public bool Finished => Status is "succeeded" or "failed";
}

/// <summary>JSON of the registry's jsonb columns.</summary>
internal static class RegistryJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)
        ?? throw new InvalidOperationException($"Unreadable {typeof(T).Name} in the model registry.");
}

/// <summary>The confusion matrix as stored in <c>held_out_confusion</c>: labels and counts[actual][predicted].</summary>
internal sealed record StoredConfusion(IReadOnlyList<string> Labels, IReadOnlyList<IReadOnlyList<int>> Counts);

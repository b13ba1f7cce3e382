using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Predictions;

/// <summary>Where a prediction was asked for; the values are the <c>channel</c> label of the metrics and the column in the database.</summary>
public static class Channels
{
    public const string Form = "form";
    public const string Api = "api";
    public const string Batch = "batch";

    public static readonly IReadOnlyList<string> All = [Form, Api, Batch];

    public static string? Normalize(string? value) =>
        All.FirstOrDefault(c => string.Equals(c, value?.Trim(), StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// The measurements a client sends, as JSON (<c>POST /api/predictions</c>) or through the form (<c>Input.*</c>);
/// nullable so a missing field is reported as missing, not as zero. Its properties are the wire names of
/// <see cref="Measurement.All"/>; the display names word the form's "not a number" errors.
/// </summary>
public sealed record PredictionRequest
{
    public PredictionRequest()
    {
    }

    public PredictionRequest(double? billLengthMm, double? billDepthMm, double? flipperLengthMm, double? bodyMassG) =>
        (BillLengthMm, BillDepthMm, FlipperLengthMm, BodyMassG) = (billLengthMm, billDepthMm, flipperLengthMm, bodyMassG);

    [Display(Name = "Bill length")]
    public double? BillLengthMm { get; set; }

    [Display(Name = "Bill depth")]
    public double? BillDepthMm { get; set; }

    [Display(Name = "Flipper length")]
    public double? FlipperLengthMm { get; set; }

    [Display(Name = "Body mass")]
    public double? BodyMassG { get; set; }

    /// <summary>The value sent for <paramref name="measurement"/>, if any.</summary>
    public double? this[Measurement measurement] => measurement.Index switch
    {
        0 => BillLengthMm,
        1 => BillDepthMm,
        2 => FlipperLengthMm,
        _ => BodyMassG,
    };

    /// <summary>Field errors keyed by JSON name, as ValidationProblemDetails carries them; empty when valid.</summary>
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        foreach (var measurement in Measurement.All)
        {
            if (measurement.Check(this[measurement]) is { } message)
            {
                errors[measurement.JsonName] = [message];
            }
        }
        return errors;
    }

    /// <summary>The measurements; only call after <see cref="Validate"/> returned no error.</summary>
    public Measurements ToMeasurements() => Measurements.From(m => this[m]!.Value);
}

/// <summary>
/// A stored prediction, as the API returns it and the pages show it. As every answer of the API, every property is
/// always present: <see cref="BatchId"/> and <see cref="ActualSpecies"/> are null when there is no batch or no feedback.
/// </summary>
public sealed record Prediction(
    long Id,
    double BillLengthMm,
    double BillDepthMm,
    double FlipperLengthMm,
    double BodyMassG,
    string Species,
    double Confidence,
    IReadOnlyDictionary<string, double> Probabilities,
    string Channel,
    string ModelVersion,
    DateTimeOffset CreatedAt,
    Guid? BatchId,
    string? ActualSpecies)
{
    /// <summary>A prediction from its measurements: the JSON keeps one property per measurement, the code reads them through the table.</summary>
    public Prediction(long id, Measurements measurements, string species, double confidence, IReadOnlyDictionary<string, double> probabilities,
        string channel, string modelVersion, DateTimeOffset createdAt, Guid? batchId, string? actualSpecies)
        : this(id, measurements.BillLengthMm, measurements.BillDepthMm, measurements.FlipperLengthMm, measurements.BodyMassG,
            species, confidence, probabilities, channel, modelVersion, createdAt, batchId, actualSpecies)
    {
    }

    /// <summary>The measurements the prediction was made from.</summary>
    [JsonIgnore]
    public Measurements Measurements => new(BillLengthMm, BillDepthMm, FlipperLengthMm, BodyMassG);

    /// <summary>
    /// Whether the measurements were unlike the training data of the version that answered (<c>outOfDistribution</c>);
    /// absent for predictions stored before Vigie judged them.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public OutOfDistributionReport? OutOfDistribution { get; init; }
}

/// <summary>
/// A prediction's out-of-distribution judgement as the API returns it: <c>flagged</c> when at least one measurement lies
/// beyond the serving version's training range by more than <c>Honesty:OutOfDistributionMargin</c> standard deviations
/// (treat the answer with caution: the model extrapolates), the <c>score</c> (largest such distance, 0 inside the range)
/// and the <c>features</c> beyond the margin, by their JSON names.
/// </summary>
/// <param name="Flagged">True when the model extrapolated: treat the answer with caution.</param>
/// <param name="Score">Largest distance of one measurement beyond the serving version's training range, in training standard deviations (0 inside every range).</param>
/// <param name="Features">JSON names of the measurements beyond the range by more than the margin; empty when not flagged.</param>
public sealed record OutOfDistributionReport(bool Flagged, double Score, IReadOnlyList<string> Features)
{
    /// <summary>The report of a fresh judgement.</summary>
    public static OutOfDistributionReport Of(OutOfDistribution judgement)
    {
        ArgumentNullException.ThrowIfNull(judgement);
        return new(judgement.Flagged, judgement.Score, judgement.Features.Select(m => m.JsonName).ToArray());
    }

    /// <summary>The labels of the measurements at fault, for the pages ("Bill length, Body mass").</summary>
    [JsonIgnore]
    public string FeatureLabels => string.Join(", ", Features.Select(f => Measurement.Named(f)?.Label ?? f));
}

/// <summary>A page of predictions, newest first; <see cref="NextCursor"/> fetches the next (older) page.</summary>
public sealed record PredictionPage(IReadOnlyList<Prediction> Items, string? NextCursor);

/// <summary>Filters and keyset paging of the prediction list.</summary>
public sealed record PredictionQuery(int Limit, long? Before, string? Species, string? Channel, Guid? Batch = null)
{
    public const int DefaultLimit = 25;
    public const int MaxLimit = 200;

    /// <summary>Parses the query-string values of <c>GET /api/predictions</c> and the history page.</summary>
    public static (PredictionQuery? Query, Dictionary<string, string[]> Errors) Parse(string? limit, string? cursor, string? species, string? channel, string? batch = null)
    {
        var errors = new Dictionary<string, string[]>();
        var parsedLimit = DefaultLimit;
        if (!string.IsNullOrWhiteSpace(limit) && (!int.TryParse(limit, out parsedLimit) || parsedLimit is < 1 or > MaxLimit))
        {
            errors["limit"] = [$"limit must be a whole number from 1 to {MaxLimit}."];
        }
        long? before = null;
        if (!string.IsNullOrWhiteSpace(cursor))
        {
            if (long.TryParse(cursor, out var id) && id > 0)
            {
                before = id;
            }
            else
            {
                errors["cursor"] = ["cursor must be the nextCursor of a previous page."];
            }
        }
        var normalizedSpecies = Classifier.Species.Normalize(species);
        if (!string.IsNullOrWhiteSpace(species) && normalizedSpecies is null)
        {
            errors["species"] = [$"species must be one of {string.Join(", ", Classifier.Species.All)}."];
        }
        var normalizedChannel = Channels.Normalize(channel);
        if (!string.IsNullOrWhiteSpace(channel) && normalizedChannel is null)
        {
            errors["channel"] = [$"channel must be one of {string.Join(", ", Channels.All)}."];
        }
        Guid? batchId = null;
        if (!string.IsNullOrWhiteSpace(batch))
        {
            if (Guid.TryParse(batch, out var parsedBatch))
            {
                batchId = parsedBatch;
            }
            else
            {
                errors["batch"] = ["batch must be the id of a batch upload."];
            }
        }
        return errors.Count > 0 ? (null, errors) : (new PredictionQuery(parsedLimit, before, normalizedSpecies, normalizedChannel, batchId), errors);
    }
}

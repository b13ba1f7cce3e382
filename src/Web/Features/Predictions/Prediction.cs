using System.Text.Json.Serialization;
using Vigie.Web.Model;

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

/// <summary>The measurements a client sends; nullable so a missing field is reported as missing, not as zero.</summary>
public sealed record PredictionRequest(double? BillLengthMm, double? BillDepthMm, double? FlipperLengthMm, double? BodyMassG)
{
    /// <summary>Field errors keyed by JSON name, as ValidationProblemDetails carries them; empty when valid.</summary>
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        foreach (var (field, value) in Pairs())
        {
            if (field.Check(value) is { } message)
            {
                errors[field.JsonName] = [message];
            }
        }
        return errors;
    }

    /// <summary>The measurements; only call after <see cref="Validate"/> returned no error.</summary>
    public Measurements ToMeasurements() => new(BillLengthMm!.Value, BillDepthMm!.Value, FlipperLengthMm!.Value, BodyMassG!.Value);

    private IEnumerable<(MeasurementField Field, double? Value)> Pairs() =>
    [
        (MeasurementFields.BillLength, BillLengthMm),
        (MeasurementFields.BillDepth, BillDepthMm),
        (MeasurementFields.FlipperLength, FlipperLengthMm),
        (MeasurementFields.BodyMass, BodyMassG),
    ];
}

/// <summary>A stored prediction, as the API returns it and the pages show it.</summary>
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
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? BatchId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ActualSpecies);

/// <summary>A page of predictions, newest first; <see cref="NextCursor"/> fetches the next (older) page.</summary>
public sealed record PredictionPage(IReadOnlyList<Prediction> Items, string? NextCursor);

/// <summary>Filters and keyset paging of the prediction list.</summary>
public sealed record PredictionQuery(int Limit, long? Before, string? Species, string? Channel)
{
    public const int DefaultLimit = 25;
    public const int MaxLimit = 200;

    /// <summary>Parses the query-string values of <c>GET /api/predictions</c> and the history page.</summary>
    public static (PredictionQuery? Query, Dictionary<string, string[]> Errors) Parse(string? limit, string? cursor, string? species, string? channel)
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
        var normalizedSpecies = Model.Species.Normalize(species);
        if (!string.IsNullOrWhiteSpace(species) && normalizedSpecies is null)
        {
            errors["species"] = [$"species must be one of {string.Join(", ", Model.Species.All)}."];
        }
        var normalizedChannel = Channels.Normalize(channel);
        if (!string.IsNullOrWhiteSpace(channel) && normalizedChannel is null)
        {
            errors["channel"] = [$"channel must be one of {string.Join(", ", Channels.All)}."];
        }
        return errors.Count > 0 ? (null, errors) : (new PredictionQuery(parsedLimit, before, normalizedSpecies, normalizedChannel), errors);
    }
}

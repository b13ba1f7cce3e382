using System.Diagnostics;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Predictions;

/// <summary>Result of asking for a prediction: stored, or rejected with field errors.</summary>
public abstract record PredictionOutcome
{
    public sealed record Created(Prediction Prediction) : PredictionOutcome;
    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : PredictionOutcome;
}

/// <summary>Result of giving feedback on a prediction.</summary>
public abstract record FeedbackOutcome
{
    public sealed record Recorded(Prediction Prediction) : FeedbackOutcome;
    public sealed record AlreadyRecorded(Prediction Prediction) : FeedbackOutcome;
    public sealed record NotFound : FeedbackOutcome;
    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : FeedbackOutcome;
}

/// <summary>
/// The one prediction service behind the form, the API and the batch upload: validates, scores with the model in
/// service, stores, and publishes the prediction's metrics. Pages and endpoints only map to and from it.
/// A request reads the model in service once and both scores and records the version with it, so a promotion in the
/// middle of the request can neither mix two versions nor half-load one.
/// </summary>
public sealed class PredictionService(ModelHolder models, PredictionStore store, VigieMetrics metrics, DriftMonitor drift, IEnumerable<IPredictionStoredListener> listeners)
{
    private readonly IPredictionStoredListener[] _listeners = [.. listeners];

    /// <summary>The model in service now; 503 (<see cref="ModelUnavailableException"/>) until the registry has been read.</summary>
    public SpeciesModel Model => models.RequireActive().Model;

    public async Task<PredictionOutcome> PredictAsync(PredictionRequest request, string channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = request.Validate();
        if (errors.Count > 0)
        {
            return new PredictionOutcome.Invalid(errors);
        }
        var measurements = request.ToMeasurements();
        var model = Model;
        var result = Score(model, measurements, channel);
        var stored = await store.InsertAsync(new NewPrediction(measurements, result, channel, model.Version), cancellationToken);
        Published(result, channel, model.Version);
        foreach (var listener in _listeners)
        {
            listener.PredictionStored(stored.Id, measurements, result.Species);
        }
        return new PredictionOutcome.Created(stored);
    }

    /// <summary>Scores with <paramref name="model"/> without storing, timing inference and feeding the drift monitor.</summary>
    public SpeciesPrediction Score(SpeciesModel model, Measurements measurements, string channel)
    {
        ArgumentNullException.ThrowIfNull(model);
        var started = Stopwatch.GetTimestamp();
        var result = model.Predict(measurements);
        metrics.RecordInference(channel, Stopwatch.GetElapsedTime(started).TotalSeconds);
        drift.Observe(measurements, result.Species, result.Confidence);
        return result;
    }

    /// <summary>Counts a stored prediction; called once it is committed, so the counters never run ahead of the table.</summary>
    public void Published(SpeciesPrediction result, string channel, string modelVersion)
    {
        ArgumentNullException.ThrowIfNull(result);
        Published(result.Species, result.Confidence, result.OutOfDistribution.Flagged, channel, modelVersion);
    }

    /// <summary>Counts a stored prediction from the facts the metrics need (a batch keeps only these per row).</summary>
    public void Published(string species, double confidence, bool outOfDistribution, string channel, string modelVersion)
    {
        metrics.RecordPredictions(species, channel, modelVersion, confidence);
        if (outOfDistribution)
        {
            metrics.RecordOutOfDistribution(modelVersion);
        }
    }

    /// <summary>Tells the listeners that every row of batch <paramref name="batchId"/> is committed.</summary>
    public void BatchStored(Guid batchId)
    {
        foreach (var listener in _listeners)
        {
            listener.BatchStored(batchId);
        }
    }

    public Task<Prediction?> FindAsync(long id, CancellationToken cancellationToken) => store.FindAsync(id, cancellationToken);

    /// <summary>A page of predictions and the cursor of the next one.</summary>
    public async Task<PredictionPage> ListAsync(PredictionQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var rows = await store.ListAsync(query, query.Limit + 1, cancellationToken);
        var items = rows.Take(query.Limit).ToList();
        var next = rows.Count > query.Limit ? items[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return new PredictionPage(items, next);
    }

    public async Task<FeedbackOutcome> RecordFeedbackAsync(long id, string? actualSpecies, CancellationToken cancellationToken)
    {
        var species = Species.Normalize(actualSpecies);
        if (species is null)
        {
            return new FeedbackOutcome.Invalid(new Dictionary<string, string[]>
            {
                ["actualSpecies"] = [$"Actual species must be one of {string.Join(", ", Species.All)}."],
            });
        }
        var (prediction, recorded) = await store.RecordFeedbackAsync(id, species, cancellationToken);
        if (prediction is null)
        {
            return new FeedbackOutcome.NotFound();
        }
        if (!recorded)
        {
            return new FeedbackOutcome.AlreadyRecorded(prediction);
        }
        metrics.RecordFeedback(prediction.Species == species, prediction.ModelVersion);
        return new FeedbackOutcome.Recorded(prediction);
    }
}

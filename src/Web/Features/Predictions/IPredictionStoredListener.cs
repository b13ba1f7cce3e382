using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Predictions;

/// <summary>
/// Told when predictions are committed, so other slices can follow them without Predictions knowing who listens (the
/// model registry's shadow scorer does). Called on the request's path after the commit: a listener must return at
/// once and never throw (queue the work, do it elsewhere).
/// </summary>
public interface IPredictionStoredListener
{
    /// <summary>A single prediction (form or API) was stored as <paramref name="predictionId"/>, answering <paramref name="servedSpecies"/>.</summary>
    void PredictionStored(long predictionId, Measurements measurements, string servedSpecies);

    /// <summary>Every row of batch <paramref name="batchId"/> was stored.</summary>
    void BatchStored(Guid batchId);
}

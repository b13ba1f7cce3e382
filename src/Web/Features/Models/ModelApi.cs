using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Models;

/// <summary>
/// What <c>GET /api/model</c> reports about the model this instance serves: <c>TrainingRows</c> counts the rows of its data
/// (training and held-out); <c>ShadowVersion</c> is the candidate this instance also scores every prediction with;
/// <c>Drift</c> is this instance's window of recent predictions (its size, the minimum before any index is computed,
/// feature and species-mix PSI, and the accuracy estimated from confidences); <c>FeatureDriftPsi</c> repeats
/// <c>Drift.FeatureDriftPsi</c> for clients written before it.
/// </summary>
public sealed record ModelDescription(string Version, string Trainer, string Settings, double HeldOutAccuracy, int TrainingRows, IReadOnlyList<string> Species, IReadOnlyList<string> Features, IReadOnlyDictionary<string, double>? FeatureDriftPsi, string? ShadowVersion, DriftSnapshot Drift);

public static class ModelApi
{
    public static IEndpointRouteBuilder MapModelApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/model", (ModelHolder models, DriftMonitor drift) =>
            {
                var serving = models.RequireActive();
                var window = drift.Current();
                return TypedResults.Ok(new ModelDescription(
                    serving.Version, serving.Model.Trainer, serving.Settings, serving.Model.HeldOutAccuracy, serving.DataRows,
                    Species.All, [.. Measurement.All.Select(m => m.FeatureLabel)], window.FeatureDriftPsi, models.Shadow?.Version, window));
            })
            .WithTags("Model").WithName("GetModel").Produces<ModelDescription>()
            .WithSummary("The model this instance serves: version, trainer, held-out accuracy, training rows, current drift and estimated accuracy (503 until loaded). The registry is /api/models.");
        return app;
    }
}

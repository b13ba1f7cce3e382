using Vigie.Web.Model;

namespace Vigie.Web.Features.ModelInfo;

/// <summary>What <c>GET /api/model</c> reports about the model in service.</summary>
public sealed record ModelDescription(string Version, string Trainer, string Settings, double HeldOutAccuracy, int TrainingRows, IReadOnlyList<string> Species, IReadOnlyList<string> Features, IReadOnlyDictionary<string, double>? FeatureDriftPsi);

public static class ModelApi
{
    public static IEndpointRouteBuilder MapModelApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/model", (SpeciesModel model, PenguinDataSet data, DriftMonitor drift) => TypedResults.Ok(new ModelDescription(
                model.Version, model.Trainer, SpeciesModelTrainer.Settings, model.HeldOutAccuracy, data.Observations.Count,
                Species.All, Vigie.Metrics.VigieMetrics.Features, drift.Current())))
            .WithTags("Model").WithName("GetModel").WithSummary("The model in service: version, trainer, held-out accuracy and current drift.");
        return app;
    }
}

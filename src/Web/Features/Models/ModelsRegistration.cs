using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Configuration;

namespace Vigie.Web.Features.Models;

/// <summary>Wires the model lifecycle: registry, sync, retraining, shadow scoring, metrics and the admin token.</summary>
public static class ModelsRegistration
{
    public static IServiceCollection AddVigieModelLifecycle(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<ModelLifecycleOptions>(configuration, "Models");
        services.AddSingleton<AdminToken>();
        services.AddSingleton<RequireAdminToken>();
        services.AddSingleton<ModelRegistryStore>();
        services.AddSingleton<ModelRegistrySync>();
        services.AddHostedService(p => p.GetRequiredService<ModelRegistrySync>());
        services.AddSingleton<ModelTraining>();
        services.AddHostedService<ModelTrainingWorker>();
        services.AddSingleton<ShadowScorer>();
        services.AddSingleton<IPredictionStoredListener>(p => p.GetRequiredService<ShadowScorer>());
        services.AddHostedService<ShadowScoringWorker>();
        services.AddSingleton<ModelMetricsRefresher>();
        services.AddHostedService(p => p.GetRequiredService<ModelMetricsRefresher>());
        services.AddSingleton<ModelLifecycle>();
        return services;
    }
}

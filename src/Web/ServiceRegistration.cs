using Vigie.Web.Features.Alerts;
using Vigie.Web.Features.Batches;
using Vigie.Web.Features.Models;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Features.Runbook;
using Vigie.Web.Features.Status;
using Vigie.Web.Infrastructure.Configuration;
using Vigie.Web.Infrastructure.Http;
using Vigie.Web.Classifier;

namespace Vigie.Web;

/// <summary>The app's own services, grouped so Program.cs reads as the architecture.</summary>
public static class ServiceRegistration
{
    /// <summary>
    /// The model: the base data (loaded before the server listens; the drift monitor compares against it), the holder
    /// of the version in service, and its lifecycle (registry sync, retraining, shadow scoring, admin token). The model
    /// itself is loaded from the registry in PostgreSQL once the database answers.
    /// </summary>
    public static IServiceCollection AddVigieModel(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<ModelOptions>(configuration, "Model");
        services.AddValidatedOptions<HonestyOptions>(configuration, "Honesty");
        services.AddSingleton(provider => ModelLoader.LoadData(provider.GetRequiredService<ModelOptions>()));
        services.AddSingleton<DriftMonitor>();
        services.AddSingleton<ModelHolder>();
        services.AddHostedService<ModelWarmup>();
        services.AddVigieModelLifecycle(configuration);
        return services;
    }

    public static IServiceCollection AddVigieFeatures(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<BatchOptions>(configuration, "Batch");
        services.AddValidatedOptions<MonitoringLinks>(configuration, "Links");
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<PredictionStore>();
        services.AddSingleton<PredictionWriter>();
        services.AddSingleton<PredictionService>();
        services.AddValidatedOptions<RetentionOptions>(configuration, "Retention");
        services.AddHostedService<PredictionRetention>();
        services.AddSingleton<BatchStore>();
        services.AddSingleton<BatchService>();
        services.AddSingleton<AlertWebhookToken>();
        services.AddSingleton<AlertStore>();
        services.AddSingleton<AlertInbox>();
        services.AddHostedService<FiringAlertsRefresher>();
        services.AddSingleton(_ => RunbookDocument.Load());
        services.AddValidatedOptions<PendingAlertsOptions>(configuration, "Alerts");
        services.AddHttpClient<PendingAlerts>();
        return services;
    }

    // Loads the training data (the drift monitor compares against it) before the server starts listening.
    private sealed class ModelWarmup(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            services.GetRequiredService<DriftMonitor>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

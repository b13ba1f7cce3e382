using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Vigie.Web.Features.Alerts;
using Vigie.Web.Features.Batches;
using Vigie.Web.Features.Models;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Configuration;
using Vigie.Web.Infrastructure.Http;
using Vigie.Web.Classifier;
using Vigie.Metrics;

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
        services.AddSingleton<BatchStore>();
        services.AddSingleton<BatchService>();
        services.AddSingleton<AlertWebhookToken>();
        services.AddSingleton<AlertStore>();
        services.AddSingleton<AlertInbox>();
        services.AddHostedService<FiringAlertsRefresher>();
        return services;
    }

    /// <summary>
    /// Request limits: bodies up to the batch limit plus multipart framing (a larger upload is cut off with 413 while
    /// streaming, never buffered whole), and header/keep-alive timeouts that bound slow clients.
    /// </summary>
    public static void ConfigureVigieLimits(this KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        // The validated options (Kestrel's options are built from the app's services when the server is created).
        var batch = kestrel.ApplicationServices.GetRequiredService<BatchOptions>();
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxRequestBodySize = batch.MaxUploadBytes + 64 * 1024;
        kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(60);
        kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
    }

    // Loads the training data (for the drift monitor) and publishes the build info before the server starts listening.
    private sealed class ModelWarmup(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            services.GetRequiredService<DriftMonitor>();
            services.GetRequiredService<VigieMetrics>().BuildInfo
                .WithLabels(typeof(ServiceRegistration).Assembly.GetName().Version?.ToString() ?? "0.0.0", Environment.Version.ToString()).Set(1);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>Where the status strip links to (<c>Links:Grafana</c>, <c>Links:Prometheus</c>).</summary>
public sealed class MonitoringLinks
{
    [Required, Url]
    public string Grafana { get; set; } = "http://localhost:3000";
    [Required, Url]
    public string Prometheus { get; set; } = "http://localhost:9090";
}

using Microsoft.AspNetCore.Server.Kestrel.Core;
using Vigie.Web.Features.Alerts;
using Vigie.Web.Features.Batches;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Http;
using Vigie.Web.Model;
using Vigie.Metrics;

namespace Vigie.Web;

/// <summary>The app's own services, grouped so Program.cs reads as the architecture.</summary>
public static class ServiceRegistration
{
    /// <summary>Loads or trains the model once at start-up; the drift monitor compares against its training data.</summary>
    public static IServiceCollection AddVigieModel(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection("Model").Get<ModelOptions>() ?? new ModelOptions();
        services.AddSingleton(provider =>
        {
            var (model, data) = ModelLoader.LoadOrTrain(options, provider.GetRequiredService<ILoggerFactory>().CreateLogger("Vigie.Web.Model"));
            var metrics = provider.GetRequiredService<VigieMetrics>();
            metrics.SetModel(model.Version, model.Trainer, model.HeldOutAccuracy);
            metrics.BuildInfo.WithLabels(typeof(ServiceRegistration).Assembly.GetName().Version?.ToString() ?? "0.0.0", Environment.Version.ToString()).Set(1);
            return new LoadedModel(model, data);
        });
        services.AddSingleton(p => p.GetRequiredService<LoadedModel>().Model);
        services.AddSingleton(p => p.GetRequiredService<LoadedModel>().Data);
        services.AddSingleton<DriftMonitor>();
        services.AddHostedService<ModelWarmup>();
        return services;
    }

    public static IServiceCollection AddVigieFeatures(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(configuration.GetSection("Batch").Get<BatchOptions>() ?? new BatchOptions());
        services.AddSingleton(configuration.GetSection("Links").Get<MonitoringLinks>() ?? new MonitoringLinks());
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<PredictionStore>();
        services.AddSingleton<PredictionService>();
        services.AddSingleton<BatchStore>();
        services.AddSingleton<BatchService>();
        services.AddSingleton<AlertWebhookToken>();
        services.AddSingleton<AlertStore>();
        services.AddSingleton<AlertInbox>();
        services.AddHostedService<AlertFlusher>();
        services.AddSingleton<RequestSummaryMiddleware>();
        return services;
    }

    /// <summary>
    /// Request limits: bodies up to the batch limit plus multipart framing (a larger upload is cut off with 413 while
    /// streaming, never buffered whole), and header/keep-alive timeouts that bound slow clients.
    /// </summary>
    public static void ConfigureVigieLimits(this KestrelServerOptions kestrel, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        var batch = configuration.GetSection("Batch").Get<BatchOptions>() ?? new BatchOptions();
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxRequestBodySize = batch.MaxUploadBytes + 64 * 1024;
        kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(60);
        kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
    }

    public static IApplicationBuilder UseRequestSummaryLogging(this IApplicationBuilder app) => app.UseMiddleware<RequestSummaryMiddleware>();

    // Trains (or loads) the model before the server starts listening, so the first request never pays for it.
    private sealed class ModelWarmup(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            services.GetRequiredService<DriftMonitor>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed record LoadedModel(SpeciesModel Model, PenguinDataSet Data);
}

/// <summary>Where the status strip links to (<c>Links:Grafana</c>, <c>Links:Prometheus</c>).</summary>
public sealed class MonitoringLinks
{
    public string Grafana { get; set; } = "http://localhost:3000";
    public string Prometheus { get; set; } = "http://localhost:9090";
}

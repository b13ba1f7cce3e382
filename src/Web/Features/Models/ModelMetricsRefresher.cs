using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Models;

/// <summary>
/// Publishes what the registry knows about the versions that matter now (the active one, the one in shadow, the newest
/// versions): candidate accuracy, shadow agreement, and live accuracy and calibration error from feedback. Read from PostgreSQL, so the
/// gauges cover every instance's predictions and survive restarts; every instance publishes the same values.
/// </summary>
public sealed class ModelMetricsRefresher(ModelRegistryStore store, ModelHolder holder, ModelLifecycleOptions options, VigieMetrics metrics, BackgroundLoops loops, ILogger<ModelMetricsRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.StatsIntervalSeconds));
        try
        {
            do
            {
                if (holder.Active is null)
                {
                    continue;
                }
                try
                {
                    await RefreshAsync(stoppingToken);
                }
                catch (DatabaseUnavailableException ex)
                {
                    logger.LogDebug("Model metrics not refreshed: {Reason}", ex.Message);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // The gauges keep their last values; the next tick tries again.
                    loops.Failed("model_metrics_refresher", ex, logger);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Reads the registry and republishes the gauges now.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var versions = await store.PublishedAsync(options.PublishedVersions, cancellationToken);
        metrics.PublishModelStats(versions.Select(v => new ModelStats(v.Version, v.Status, v.HeldOut.Accuracy,
            v.Shadow?.Agreement, v.Live?.Accuracy, v.Shadow?.ShadowAccuracy, v.Calibration?.ExpectedCalibrationError)).ToList());
    }
}

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Vigie.Web.Infrastructure.Configuration;

namespace Vigie.Web.Infrastructure.Hosting;

/// <summary>How the app stops on SIGTERM (<c>Hosting:*</c>).</summary>
public sealed class ShutdownOptions
{
    /// <summary>
    /// How long a stopping instance keeps serving while answering not-ready, before it closes its port. Behind a load
    /// balancer that checks <c>/health/ready</c> (the Swarm stack's HAProxy: every second, out after two failures), the
    /// instance is taken out during this time, so no new request is sent to a port about to close: a rolling update
    /// then fails no request. 0 (the default) for a single instance, which nothing can drain to.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How long the requests in flight get to finish once the port is closed (and with them the predictions still
    /// waiting for the group insert, which each complete with their request). The orchestrator's grace period
    /// (<c>stop_grace_period</c>) must exceed <see cref="DrainDelay"/> plus this, or it kills the app mid-stop.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A stop in three steps, in this order: (1) readiness answers 503 "shutting down" while the instance still serves,
/// for <see cref="ShutdownOptions.DrainDelay"/>, so the load balancer takes it out; (2) Kestrel closes its port and
/// finishes the requests in flight (each prediction among them is committed before its answer); (3) the group
/// insert's queue, empty by then, is closed when the services are disposed. Runs before every hosted service stops
/// (<see cref="IHostedLifecycleService.StoppingAsync"/>), so the database probe and the alert refresher go on meanwhile.
/// </summary>
public sealed class GracefulShutdown(ShutdownOptions options, ILogger<GracefulShutdown> logger) : IHostedLifecycleService
{
    private volatile bool _draining;

    /// <summary>True from the moment the app was asked to stop.</summary>
    public bool Draining => _draining;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        if (options.DrainDelay <= TimeSpan.Zero)
        {
            return;
        }
        logger.LogInformation("Stopping: answering not-ready for {DrainDelay} so the load balancer drains this instance", options.DrainDelay);
        try
        {
            await Task.Delay(options.DrainDelay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out first: go on stopping.
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The readiness check: unhealthy from the moment the app was asked to stop.</summary>
    internal sealed class ReadinessCheck(GracefulShutdown shutdown) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(shutdown.Draining ? HealthCheckResult.Unhealthy("shutting down") : HealthCheckResult.Healthy("serving"));
    }
}

/// <summary>Wires the graceful stop and sizes the host's shutdown timeout to cover it.</summary>
public static class GracefulShutdownRegistration
{
    public static IServiceCollection AddVigieGracefulShutdown(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<ShutdownOptions>(configuration, "Hosting");
        services.AddSingleton<GracefulShutdown>();
        services.AddHostedService(provider => provider.GetRequiredService<GracefulShutdown>());
        // The host's timeout covers the whole stop, drain included: without the drain added, a long drain would leave
        // the requests in flight no time at all.
        services.AddOptions<HostOptions>().Configure<ShutdownOptions>((host, shutdown) => host.ShutdownTimeout = shutdown.DrainDelay + shutdown.RequestTimeout);
        return services;
    }
}

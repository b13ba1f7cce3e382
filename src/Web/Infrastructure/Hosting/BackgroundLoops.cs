using Vigie.Web.Infrastructure.Telemetry;

namespace Vigie.Web.Infrastructure.Hosting;

/// <summary>
/// What every background loop of the app (database probe and migrator, alert refresher, shadow scoring, registry sync,
/// model stats, training) does with an error it did not expect: log it at error level, count it in
/// <c>vigie_background_failures_total{loop}</c>, wait (exponential back-off) and go on. One bad item or one unforeseen
/// server answer (a refused password, a constraint violation) then costs one round of that loop, never the loop
/// itself — and with it the whole app, which .NET stops when a background service throws.
/// </summary>
public sealed class BackgroundLoops(VigieMetrics metrics)
{
    /// <summary>
    /// The name of every loop of the app (the <c>loop</c> label of <c>vigie_background_failures_total</c>, whose series
    /// exist from the start so an alert sees the first failure). A unit test checks it against the names the loops use.
    /// </summary>
    public static readonly IReadOnlyList<string> Names = ["database_migrator", "database_probe", "alert_refresher", "shadow_scoring",
        "model_registry_sync", "model_metrics_refresher", "model_training", "key_ring_warmup", "prediction_retention", "idempotency_key_cleanup"];

    /// <summary>First wait after a failure; doubled after each failure in a row, up to <see cref="MaxDelay"/>.</summary>
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between failing rounds: a loop whose cause is fixed resumes within this.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Stops the app when a background service ends with an exception, deliberately (it is .NET's default, set here so
    /// it does not change with a framework default). Every loop catches, counts and survives its own failures, so an
    /// exception that still escapes means that loop has ended for good: a probe, registry sync or refresher that no
    /// longer runs would leave the instance serving stale readiness, an old model or a wrong firing list without a
    /// sign. Stopping makes it visible and recoverable instead: compose restarts the container
    /// (<c>restart: unless-stopped</c>), Swarm replaces the task, and VigieTargetDown fires if it does not come back.
    /// </summary>
    public static void Configure(HostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
    }

    /// <summary>Records an unexpected failure of one round of <paramref name="loop"/> (one of <see cref="Names"/>).</summary>
    public void Failed(string loop, Exception exception, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        metrics.RecordBackgroundFailure(loop);
        logger.LogError(exception, "Background loop {Loop} failed; it goes on after a back-off", loop);
    }

    /// <summary>Counts a failure already logged by the loop (one that repeats every round is logged once, counted each time).</summary>
    public void FailedAgain(string loop) => metrics.RecordBackgroundFailure(loop);

    /// <summary>A back-off for one loop: call <see cref="Backoff.Failed"/> after a failing round and <see cref="Backoff.Reset"/> after a good one.</summary>
    public static Backoff NewBackoff() => new();

    /// <summary>Exponential back-off between failing rounds of a loop.</summary>
    public sealed class Backoff
    {
        private TimeSpan _next = FirstDelay;

        /// <summary>The wait before the next round; doubles at each call up to <see cref="MaxDelay"/>.</summary>
        public TimeSpan Failed()
        {
            var delay = _next;
            _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, MaxDelay.Ticks));
            return delay;
        }

        public void Reset() => _next = FirstDelay;
    }
}

/// <summary>Wires the background loops' shared failure handling and the host's reaction to a loop that ends.</summary>
public static class BackgroundLoopsRegistration
{
    public static IServiceCollection AddVigieBackgroundLoops(this IServiceCollection services)
    {
        services.AddSingleton<BackgroundLoops>();
        services.Configure<HostOptions>(BackgroundLoops.Configure);
        return services;
    }
}

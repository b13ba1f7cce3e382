using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Vigie.Metrics;

/// <summary>The <c>Metrics</c> configuration section.</summary>
public sealed class VigieMetricsOptions
{
    /// <summary>Port of the sidecar metrics host (<c>Metrics__Port</c>).</summary>
    [Range(1, 65535, ErrorMessage = "Metrics:Port must be a TCP port, 1 to 65535.")]
    public int Port { get; set; } = MetricsServiceCollectionExtensions.DefaultPort;

    /// <summary>Interface of the sidecar metrics host (<c>Metrics__Host</c>); <c>+</c> means all.</summary>
    [Required(ErrorMessage = "Metrics:Host must name an interface (+ for all).")]
    public string Host { get; set; } = "+";

    /// <summary>
    /// <c>Metrics__Enabled</c>, true by default. False is for measuring what the instrumentation costs (the benchmark
    /// does): the HTTP metrics middleware is not added, the catalog's recording methods do nothing and its instruments
    /// live in a registry nobody exports, and no meter is listened to. The sidecar still answers <c>/metrics</c>, with
    /// the process metrics only. Never turn it off in a deployment: dashboards and alerts would see nothing.
    /// </summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>
/// The sidecar metrics host and the HTTP instrumentation of the web app, added by the app's defaults
/// (<c>AddVigieDefaults</c>); the app's own catalog of domain signals lives beside the vocabularies it labels.
/// </summary>
public static class MetricsServiceCollectionExtensions
{
    /// <summary>Default port of the sidecar metrics host (<c>Metrics__Port</c>).</summary>
    public const int DefaultPort = 8081;

    /// <summary>The only meter exported besides Vigie's own instruments: the runtime's own (GC, thread pool, JIT), read at scrape time.</summary>
    public const string RuntimeMeter = "System.Runtime";

    /// <summary>
    /// Starts the sidecar metrics host: a second Kestrel server on <c>Metrics:Port</c> (host <c>Metrics:Host</c>, default
    /// all interfaces) serving <c>/metrics</c>, and adds the HTTP metrics (unless <c>Metrics:Enabled=false</c>). The public
    /// port never serves metrics, so the exposition (and its cardinality) is not reachable from outside the compose
    /// network. The section is validated when the host starts: a port out of range stops start-up with a message naming
    /// <c>Metrics:Port</c> (prometheus-net would otherwise truncate it to 16 bits and listen elsewhere). The app's own
    /// catalog lives in the app, in the registry <see cref="AppRegistry"/> names.
    /// </summary>
    public static IServiceCollection AddVigieMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        // Read now as well: the exposition and the sidecar's settings are fixed at registration; they are bound from the
        // same section as the validated options, which stop start-up before the sidecar listens.
        var options = ReadOptions(configuration);
        ConfigureDefaultExposition(options.Enabled);

        services.AddOptions<VigieMetricsOptions>().Bind(configuration.GetSection(Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(provider => provider.GetRequiredService<IOptions<VigieMetricsOptions>>().Value);
        if (options.Enabled)
        {
            // Created now, so the families are exported from the first scrape on.
            services.AddSingleton<IRequestOutcomeObserver>(new HttpMetrics(new HttpInstruments(Prometheus.Metrics.DefaultRegistry)));
        }

        services.AddMetricServer(server =>
        {
            server.Port = (ushort)options.Port;
            server.Hostname = options.Host;
        });
        return services;
    }

    /// <summary>The <c>Metrics</c> section as configured, unvalidated (validation runs when the host starts).</summary>
    public static VigieMetricsOptions ReadOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.GetSection(Section).Get<VigieMetricsOptions>() ?? new VigieMetricsOptions();
    }

    /// <summary>
    /// Where the app's own instruments go: the registry the sidecar exports, or, with <c>Metrics:Enabled=false</c>, a
    /// private one nobody scrapes (the instruments exist, so code holding the catalog keeps working).
    /// </summary>
    public static CollectorRegistry AppRegistry(VigieMetricsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Enabled ? Prometheus.Metrics.DefaultRegistry : Prometheus.Metrics.NewCustomRegistry();
    }

    private const string Section = "Metrics";

    /// <summary>
    /// Gives every request a <see cref="RequestOutcome"/> and hands it, complete, to every
    /// <see cref="IRequestOutcomeObserver"/> service: the RED metrics (unless metrics are disabled), the request-summary
    /// log. Call it first, before the exception handler and the status code pages, so the status recorded is the one
    /// they answered; and call <see cref="UseRequestRoutes"/> right after <c>UseRouting</c>.
    /// </summary>
    public static IApplicationBuilder UseRequestOutcomes(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseMiddleware<RequestOutcomeMiddleware>();
    }

    /// <summary>
    /// Tells each request's <see cref="RequestOutcome"/> its endpoint, whose route template labels it (never the raw
    /// path). Must run after <c>UseRouting</c>; an error page re-executed through it later keeps the first route.
    /// </summary>
    public static IApplicationBuilder UseRequestRoutes(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseMiddleware<RequestRouteMiddleware>();
    }

    private static int s_configured;

    /// <summary>
    /// prometheus-net's defaults export .NET event counters and every meter of the process, which costs on every request
    /// (ASP.NET Core, Kestrel, routing and Npgsql record into their meters per request and per query, duplicating
    /// <c>vigie_http_*</c> and <c>vigie_db_*</c>) and yields names <c>promtool check metrics</c> flags (<c>*.count</c>
    /// counters without <c>_total</c>). Only the System.Runtime meter (observable instruments, read at scrape time)
    /// stays, minus its <c>.count</c> instruments whose information the remaining ones carry; the process and GC
    /// metrics are <see cref="ProcessMetrics"/>'s.
    /// </summary>
    private static void ConfigureDefaultExposition(bool enabled)
    {
        if (Interlocked.Exchange(ref s_configured, 1) == 1)
        {
            return;
        }
        Prometheus.Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressEventCounters = true,
            SuppressDebugMetrics = true,
            SuppressMeters = !enabled,
            // Replaced by ProcessMetrics: same series, a fraction of the cost per scrape.
            SuppressProcessMetrics = true,
        });
        _ = new ProcessMetrics(Prometheus.Metrics.DefaultRegistry);
        if (enabled)
        {
            Prometheus.Metrics.ConfigureMeterAdapter(options => options.InstrumentFilterPredicate = instrument =>
                instrument.Meter.Name == RuntimeMeter && !instrument.Name.EndsWith(".count", StringComparison.Ordinal));
        }
    }
}

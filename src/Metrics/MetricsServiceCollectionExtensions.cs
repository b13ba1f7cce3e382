using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace Vigie.Metrics;

/// <summary>
/// Observability defaults for the web app, the way eShop's ServiceDefaults owns them: the catalog, the sidecar
/// metrics host and the HTTP instrumentation are added by one call each from <c>Program.cs</c>.
/// </summary>
public static class MetricsServiceCollectionExtensions
{
    /// <summary>Default port of the sidecar metrics host (<c>Metrics__Port</c>).</summary>
    public const int DefaultPort = 8081;

    /// <summary>
    /// Registers the metric catalog and starts the sidecar metrics host: a second Kestrel server on
    /// <c>Metrics:Port</c> (host <c>Metrics:Host</c>, default all interfaces) serving <c>/metrics</c>. The public port never
    /// serves metrics, so the exposition (and its cardinality) is not reachable from outside the compose network.
    /// </summary>
    public static IServiceCollection AddVigieMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ConfigureDefaultExposition();

        services.AddSingleton(new VigieMetrics(Prometheus.Metrics.DefaultRegistry));
        services.AddSingleton<HttpMetricsMiddleware>();

        var port = configuration.GetValue("Metrics:Port", DefaultPort);
        var host = configuration.GetValue("Metrics:Host", "+")!;
        services.AddMetricServer(options =>
        {
            options.Port = (ushort)port;
            options.Hostname = host;
        });
        return services;
    }

    /// <summary>
    /// Records RED metrics for every request. Must run after <c>UseRouting</c> so the endpoint, and so its route
    /// template, is known: the template is the label, never the raw path.
    /// </summary>
    public static IApplicationBuilder UseVigieHttpMetrics(this IApplicationBuilder app) =>
        app.UseMiddleware<HttpMetricsMiddleware>();

    private static int s_configured;

    /// <summary>
    /// prometheus-net's defaults export .NET event counters and meters named like <c>*.count</c>, which
    /// <c>promtool check metrics</c> flags (counters without <c>_total</c>, non-base units). Process and GC metrics stay;
    /// the System.Runtime meter stays minus its <c>.count</c> instruments, whose information the remaining ones carry.
    /// </summary>
    private static void ConfigureDefaultExposition()
    {
        if (Interlocked.Exchange(ref s_configured, 1) == 1)
        {
            return;
        }
        Prometheus.Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressEventCounters = true,
            SuppressDebugMetrics = true,
        });
        Prometheus.Metrics.ConfigureMeterAdapter(options =>
            options.InstrumentFilterPredicate = instrument => !instrument.Name.EndsWith(".count", StringComparison.Ordinal));
    }
}

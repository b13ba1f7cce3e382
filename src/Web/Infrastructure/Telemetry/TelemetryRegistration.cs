using Vigie.Metrics;

namespace Vigie.Web.Infrastructure.Telemetry;

public static class TelemetryRegistration
{
    /// <summary>
    /// The sidecar metrics host with the HTTP and process metrics (src/Metrics), and the app's own catalog,
    /// <see cref="VigieMetrics"/>, created now so its zeroed series are exported from the first scrape on.
    /// </summary>
    public static IServiceCollection AddVigieTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddVigieMetrics(configuration);
        var options = MetricsServiceCollectionExtensions.ReadOptions(configuration);
        services.AddSingleton(new VigieMetrics(MetricsServiceCollectionExtensions.AppRegistry(options), options.Enabled));
        return services;
    }
}

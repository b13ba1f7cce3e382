using Vigie.Metrics;

namespace Vigie.Web.Infrastructure.Telemetry;

public static class TelemetryRegistration
{
    /// <summary>
    /// The sidecar metrics host with the HTTP and process metrics (src/Metrics), and the app's own catalog,
    /// <see cref="VigieMetrics"/>, created now so its zeroed series and the build info are exported from the first scrape on.
    /// </summary>
    public static IServiceCollection AddVigieTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddVigieMetrics(configuration);
        var options = MetricsServiceCollectionExtensions.ReadOptions(configuration);
        var catalog = new VigieMetrics(MetricsServiceCollectionExtensions.AppRegistry(options), options.Enabled);
        catalog.SetBuildInfo(typeof(TelemetryRegistration).Assembly.GetName().Version?.ToString() ?? "0.0.0", Environment.Version.ToString());
        services.AddSingleton(catalog);
        return services;
    }
}

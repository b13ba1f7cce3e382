using NLog;
using NLog.Web;
using Vigie.Metrics;
using Vigie.Web.Infrastructure.Telemetry;

namespace Vigie.Web.Infrastructure.Logging;

/// <summary>NLog as the app's logger: console for <c>docker logs</c> and JSON lines in <c>Logging:Directory/web.log</c> (see nlog.config).</summary>
public static class LoggingSetup
{
    /// <summary>Directory of web.log (<c>Logging__Directory</c>), default <c>logs</c> under the working directory.</summary>
    public static WebApplicationBuilder AddVigieLogging(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var directory = Path.GetFullPath(builder.Configuration["Logging:Directory"] ?? "logs");
        Directory.CreateDirectory(directory);
        var configPath = Path.Combine(AppContext.BaseDirectory, "nlog.config");
        var factory = LogManager.Setup().LoadConfigurationFromFile(configPath, optional: false).LogFactory;
        factory.Configuration!.Variables["logDirectory"] = directory;
        factory.ReconfigExistingLoggers();
        builder.Logging.ClearProviders();
        builder.Host.UseNLog(new NLogAspNetCoreOptions { RemoveLoggerFactoryFilter = false, ReplaceLoggerFactory = false });
        // One line per request, from its outcome (app.UseRequestOutcomes): the status the client got, as the metrics count it.
        builder.Services.AddSingleton<IRequestOutcomeObserver, RequestSummaryLog>();
        return builder;
    }

    /// <summary>Counts every log event that passes the rules into the metric catalog.</summary>
    public static WebApplication UseLogEventMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var configuration = LogManager.Configuration!;
        var target = new LogEventMetricsTarget(app.Services.GetRequiredService<VigieMetrics>()) { Name = "metrics" };
        if (configuration.FindTargetByName("metrics") is null)
        {
            // Appended after nlog.config's rules, whose final rules already dropped framework chatter: only what is written is counted.
            configuration.AddRule(NLog.LogLevel.Info, NLog.LogLevel.Fatal, target, "*");
            LogManager.ReconfigExistingLoggers();
        }
        return app;
    }
}

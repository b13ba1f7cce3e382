using Microsoft.AspNetCore.Server.Kestrel.Core;
using Vigie.Metrics;
using Vigie.Web.Features.Batches;
using Vigie.Web.Features.Health;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.DataProtection;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Infrastructure.Http;
using Vigie.Web.Infrastructure.Idempotency;
using Vigie.Web.Infrastructure.Logging;
using Vigie.Web.Infrastructure.Security;
using Vigie.Web.Infrastructure.Telemetry;

namespace Vigie.Web.Infrastructure;

/// <summary>
/// Everything the app needs that is not one of its features, in one place (as eShop's ServiceDefaults): secrets,
/// logging, metrics, background loops, the database, error responses, security headers, rate limits, health checks,
/// Razor Pages, Data Protection, Kestrel's limits, and the middleware pipeline in its one correct order. Program.cs then
/// lists only what the app is.
/// </summary>
public static class VigieDefaults
{
    /// <summary>Registers the cross-cutting services and configuration.</summary>
    public static WebApplicationBuilder AddVigieDefaults(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Compose mounts secrets (db_password) as files under /run/secrets; each file becomes a configuration key.
        builder.Configuration.AddKeyPerFile(builder.Configuration["SecretsDirectory"] ?? "/run/secrets", optional: true);
        builder.AddVigieLogging();

        var services = builder.Services;
        services.AddVigieTelemetry(builder.Configuration);
        services.AddVigieBackgroundLoops();
        services.AddVigieGracefulShutdown(builder.Configuration);
        services.AddVigieDatabase(builder.Configuration);
        services.AddVigieProblemDetails();
        services.AddVigieSecurityHeaders();
        services.AddVigieCompression();
        services.AddVigieRateLimits(builder.Configuration);
        services.AddVigieIdempotency(builder.Configuration);
        services.AddVigieHealthChecks();
        services.AddRazorPages(options => options.RootDirectory = "/Features");
        // After Razor Pages, which registers Data Protection itself: the key ring lives in PostgreSQL, read once migrated.
        services.AddVigieDataProtection();
        builder.WebHost.ConfigureKestrel(ConfigureLimits);
        return builder;
    }

    /// <summary>The middleware pipeline, in the order each step's comment explains.</summary>
    public static WebApplication UseVigieDefaults(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // First, so the HTTP metrics and the request-summary line see the status the error handling below answered.
        app.UseRequestOutcomes();
        app.UseLogEventMetrics();
        // Inside the request outcomes, so what they measure is what went over the wire; before everything that writes
        // a body (error pages, static files, pages, the API).
        app.UseResponseCompression();
        app.UseVigieSecurityHeaders();
        app.UseVigieErrorResponses();
        app.UseVigieStaticFiles();
        app.UseKeyRingCheck();
        app.UseRouting();
        // Right after routing: the route template, never the raw path, labels the request.
        app.UseRequestRoutes();
        app.UseVigieRateLimits();
        // After rate limits (a replay counts as a write) and before the endpoint, whose answer it keeps or replays.
        app.UseVigieIdempotency();
        app.UseAntiforgery();
        return app;
    }

    /// <summary>
    /// Request limits: bodies up to the batch limit plus multipart framing (a larger upload is cut off with 413 while
    /// streaming, never buffered whole), and header/keep-alive timeouts that bound slow clients.
    /// </summary>
    internal static void ConfigureLimits(KestrelServerOptions kestrel)
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
}

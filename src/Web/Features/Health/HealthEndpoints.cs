using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Health;

/// <summary>
/// <c>/health/live</c>: the process answers (no dependency, so an orchestrator never restarts the app for a database outage).
/// <c>/health/ready</c>: the database answers and is migrated, a model is loaded and the app is not stopping; 503 problem+json otherwise.
/// Both are anonymous, so they answer fixed descriptions ("database unreachable", "migrations pending", "model loading");
/// why a check failed (a driver's message names hosts, ports and users) goes to the log only.
/// </summary>
public static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    public static IServiceCollection AddVigieHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag])
            .AddCheck<ModelHealthCheck>("model", tags: [ReadyTag])
            // Not ready from the moment the app was asked to stop, so a load balancer drains it first.
            .AddCheck<GracefulShutdown.ReadinessCheck>("shutdown", tags: [ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapVigieHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains(ReadyTag),
            ResponseWriter = WriteAsync,
            // Degraded is "not ready yet" here (migrations or the model still loading at start-up): not ready is 503.
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        return app;
    }

    /// <summary>Description of a check that threw: the health check service would otherwise answer the exception's message.</summary>
    internal const string CheckFailed = "check failed";

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        foreach (var (name, entry) in report.Entries.Where(e => e.Value.Exception is not null))
        {
            context.RequestServices.GetRequiredService<ILogger<HealthReport>>().LogWarning(entry.Exception, "Readiness check {Check} failed", name);
        }
        var checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = Description(e.Value) });
        if (report.Status == HealthStatus.Healthy)
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(JsonSerializer.Serialize(new { status = "Healthy", checks }));
        }
        context.Response.ContentType = "application/problem+json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            type = "https://tools.ietf.org/html/rfc9110#section-15.6.4",
            title = "Not ready",
            status = context.Response.StatusCode,
            detail = string.Join("; ", report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => Description(e.Value))),
            checks,
        }));
    }

    private static string? Description(HealthReportEntry entry) => entry.Exception is null ? entry.Description : CheckFailed;

    private sealed class DatabaseHealthCheck(VigieDatabase database, DatabaseStatus status, ILogger<DatabaseHealthCheck> logger) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            // Known unreachable (the probe's last round failed): answered at once, without a connection attempt that may
            // wait for its timeout (or a name lookup's). A load balancer asks every second, and an orchestrator's
            // healthcheck has a timeout of its own; the probe notices the recovery within its interval.
            if (status.Migrated && !status.Reachable)
            {
                return HealthCheckResult.Unhealthy("database unreachable");
            }
            try
            {
                await database.RunAsync("ping", c => c.ExecuteScalarAsync<int>("SELECT 1"), cancellationToken);
            }
            catch (DatabaseUnavailableException ex)
            {
                // A warning, not an error: the outage itself is logged once at ERROR by the probe; this says why a readiness call failed.
                logger.LogWarning("Readiness: database unreachable: {Reason}", ex.InnerException?.Message);
                return HealthCheckResult.Unhealthy("database unreachable");
            }
            // Migrations still running at start-up are not a failure: Degraded (not ready, logged as a warning, not an error).
            return status.Migrated ? HealthCheckResult.Healthy("database reachable and migrated") : HealthCheckResult.Degraded("migrations pending");
        }
    }

    private sealed class ModelHealthCheck(ModelHolder models) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(models.Active is { } active
                ? HealthCheckResult.Healthy($"model {active.Version} loaded")
                // The active version is loaded from the model registry once the database answers: expected at start-up,
                // so Degraded (not ready, a warning), not Unhealthy (which the health check service logs at ERROR).
                : HealthCheckResult.Degraded("model loading"));
    }
}

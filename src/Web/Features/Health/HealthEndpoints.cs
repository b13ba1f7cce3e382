using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Model;

namespace Vigie.Web.Features.Health;

/// <summary>
/// <c>/health/live</c>: the process answers (no dependency, so an orchestrator never restarts the app for a database outage).
/// <c>/health/ready</c>: the database answers and is migrated, and a model is loaded; 503 problem+json otherwise.
/// </summary>
public static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    public static IServiceCollection AddVigieHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag])
            .AddCheck<ModelHealthCheck>("model", tags: [ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapVigieHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description });
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
            detail = string.Join(" ", report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => $"{e.Key}: {e.Value.Description}")),
            checks,
        }));
    }

    private sealed class DatabaseHealthCheck(VigieDatabase database, DatabaseStatus status) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await database.RunAsync("ping", c => c.ExecuteScalarAsync<int>("SELECT 1"), cancellationToken);
            }
            catch (DatabaseUnavailableException ex)
            {
                return HealthCheckResult.Unhealthy($"unreachable ({ex.InnerException?.Message})");
            }
            return status.Migrated ? HealthCheckResult.Healthy("reachable and migrated") : HealthCheckResult.Unhealthy("reachable, migrations not applied yet");
        }
    }

    private sealed class ModelHealthCheck(ModelHolder models) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(models.Active is { } active
                ? HealthCheckResult.Healthy($"model {active.Version} loaded")
                : HealthCheckResult.Unhealthy("no model loaded yet: the active version is loaded from the model registry once the database answers"));
    }
}

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// Endpoints of the benchmark, mapped only with <c>Bench:Enabled=true</c> (the benchmark sets it; never a deployment).
/// <c>GET /bench/noop</c> goes through the whole pipeline (routing, HTTP metrics, the request-summary log line) and
/// does nothing else, so its throughput is the ceiling the app's own work is measured against on the same machine.
/// <c>GET /bench/instrumentation</c> times the metric catalog's work for one prediction request in-process.
/// </summary>
public static class BenchEndpoints
{
    public static IEndpointRouteBuilder MapBenchEndpoints(this IEndpointRouteBuilder app, IConfiguration configuration)
    {
        if (configuration.GetValue("Bench:Enabled", false))
        {
            app.MapGet("/bench/noop", () => TypedResults.Text("ok")).ExcludeFromDescription();
            // The instrumentation's cost per request, measured in this process (same runtime settings as the app).
            app.MapGet("/bench/instrumentation", () => TypedResults.Ok(new { nanosecondsPerRequest = InstrumentationCost.NanosecondsPerRequest() }))
                .ExcludeFromDescription();
        }
        return app;
    }
}

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// Endpoints of the benchmark, mapped only with <c>Bench:Enabled=true</c> (the benchmark sets it; never a deployment).
/// <c>GET /bench/noop</c> goes through the whole pipeline (routing, HTTP metrics, the request-summary log line) and
/// does nothing else, so its throughput is the ceiling the app's own work is measured against on the same machine.
/// <c>GET /bench/instrumentation</c> times the metric catalog's work for one prediction request in-process;
/// <c>GET /bench/scoring</c> prices the out-of-distribution score in CPU per prediction with the model in service.
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
            app.MapGet("/bench/scoring", (Classifier.ModelHolder models, Classifier.PenguinDataSet data) =>
                    TypedResults.Ok(ScoringCost.Measure(models.RequireActive().Model, data)))
                .ExcludeFromDescription();
        }
        return app;
    }
}

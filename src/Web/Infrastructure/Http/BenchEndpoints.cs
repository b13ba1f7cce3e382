namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// <c>GET /bench/noop</c>, mapped only with <c>Bench:Enabled=true</c> (the benchmark sets it; never a deployment): a
/// request that goes through the whole pipeline (routing, HTTP metrics, the request-summary log line) and does
/// nothing else, so its throughput is the ceiling the app's own work is measured against on the same machine.
/// </summary>
public static class BenchEndpoints
{
    public static IEndpointRouteBuilder MapBenchEndpoints(this IEndpointRouteBuilder app, IConfiguration configuration)
    {
        if (configuration.GetValue("Bench:Enabled", false))
        {
            app.MapGet("/bench/noop", () => TypedResults.Text("ok")).ExcludeFromDescription();
        }
        return app;
    }
}

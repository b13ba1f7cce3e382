using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Vigie.Metrics;
using Vigie.Web.Infrastructure.Telemetry;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// What Vigie's instrumentation costs per prediction request, measured in-process on one thread in a private registry:
/// the request-outcome middlewares with the HTTP metrics around an empty endpoint, plus the catalog calls one prediction
/// makes (inference, prediction and confidence, database query, log event). The benchmark relates it to the app's measured CPU per
/// request, a figure that the noise of end-to-end runs on a shared machine cannot resolve below a few per cent.
/// </summary>
/// <remarks>
/// Benchmark code, reachable only through <c>GET /bench/instrumentation</c>, which <see cref="BenchEndpoints"/> maps
/// only with <c>Bench:Enabled=true</c>. It runs in the app's process on purpose (the same runtime settings as the app it
/// prices), so it ships in the web assembly, not in the metrics library every deployment loads as a dependency.
/// </remarks>
internal static class InstrumentationCost
{
    /// <summary>Nanoseconds per request: the best of <paramref name="repetitions"/> timed loops of <paramref name="iterations"/>.</summary>
    public static double NanosecondsPerRequest(int iterations = 200_000, int repetitions = 5)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new VigieMetrics(registry);
        metrics.SetModel("bench", "bench", 1);
        var route = new RequestRouteMiddleware(_ => Task.CompletedTask);
        var middleware = new RequestOutcomeMiddleware(route.InvokeAsync, [new HttpMetrics(new HttpInstruments(registry))]);
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.SetEndpoint(new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/api/predictions/"), 0, EndpointMetadataCollection.Empty, "bench"));

        void Request()
        {
            middleware.InvokeAsync(context).GetAwaiter().GetResult();
            metrics.RecordInference("api", 0.00001);
            metrics.RecordPredictions("Adelie", "api", "bench", 0.9);
            metrics.RecordDbQuery("insert_prediction", 0.001);
            metrics.RecordLogEvent("info");
        }

        for (var i = 0; i < 20_000; i++)
        {
            Request();
        }
        var best = double.MaxValue;
        for (var repetition = 0; repetition < repetitions; repetition++)
        {
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < iterations; i++)
            {
                Request();
            }
            best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalNanoseconds / iterations);
        }
        return best;
    }
}

using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Vigie.Metrics;

/// <summary>
/// Counts, times and tracks in-flight requests per route template, method and status code.
/// Requests that match no endpoint are labelled <c>unmatched</c> so scanners probing random paths cannot create series.
/// </summary>
internal sealed class HttpMetricsMiddleware(VigieMetrics metrics) : IMiddleware
{
    /// <summary>Route label of requests no endpoint matched (404s of unknown paths, static files).</summary>
    public const string UnmatchedRoute = "unmatched";

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var method = NormalizeMethod(context.Request.Method);
        var route = RouteLabel(context);
        var inFlight = metrics.HttpRequestsInFlight.WithLabels(route, method);
        inFlight.Inc();
        var started = Stopwatch.GetTimestamp();
        var threw = false;
        try
        {
            await next(context);
        }
        catch
        {
            threw = true;
            throw;
        }
        finally
        {
            inFlight.Dec();
            // An exception escaping here becomes a 500 in the exception handler further out; count it as such.
            var status = threw && !context.Response.HasStarted ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
            var statusLabel = StatusLabel(status);
            metrics.HttpRequests.WithLabels(route, method, statusLabel).Inc();
            metrics.HttpRequestDuration.WithLabels(route, method, statusLabel)
                .Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    // Route groups join their prefix and an empty pattern as "/api/predictions/": one spelling per route.
    private static string RouteLabel(HttpContext context) =>
        context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } template }
            ? "/" + template.Trim('/')
            : UnmatchedRoute;

    private static readonly string[] KnownMethods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

    // Methods are client-chosen strings; anything unusual is folded into one value.
    private static string NormalizeMethod(string method)
    {
        foreach (var known in KnownMethods)
        {
            if (string.Equals(known, method, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }
        return "OTHER";
    }

    private static string StatusLabel(int status) => status switch
    {
        >= 100 and < 600 => StatusCodeStrings.Get(status),
        _ => "other",
    };

    private static class StatusCodeStrings
    {
        private static readonly string[] Cache = Enumerable.Range(0, 600).Select(code => code.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        public static string Get(int status) => Cache[status];
    }
}

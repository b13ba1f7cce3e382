using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prometheus;

namespace Vigie.Metrics;

/// <summary>
/// Counts, times and tracks in-flight requests per route template, method and status code.
/// Requests that match no endpoint are labelled <c>unmatched</c> so scanners probing random paths cannot create series.
/// </summary>
/// <remarks>
/// The label children are looked up once per endpoint, method and status and kept: the per-request work is two
/// increments, a decrement and a histogram observation, with no label arrays built and no label strings hashed.
/// </remarks>
/// <remarks>
/// A conventional middleware (built once with the next delegate), not an <see cref="IMiddleware"/> that ASP.NET Core
/// would resolve from the request's services on every request.
/// </remarks>
internal sealed class HttpMetricsMiddleware(RequestDelegate next, VigieMetrics metrics)
{
    /// <summary>Route label of requests no endpoint matched (404s of unknown paths, static files).</summary>
    public const string UnmatchedRoute = "unmatched";

    private static readonly string[] KnownMethods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    private const string OtherMethod = "OTHER";

    // Endpoints are created once at start-up; keyed by reference. Bounded by the number of endpoints (+ unmatched).
    private readonly ConcurrentDictionary<Endpoint, RouteSeries> _byEndpoint = new(ReferenceEqualityComparer.Instance);
    private RouteSeries? _unmatched;

    public async Task InvokeAsync(HttpContext context)
    {
        var methodIndex = MethodIndex(context.Request.Method);
        var series = SeriesOf(context.GetEndpoint());
        var inFlight = series.InFlight(methodIndex);
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
            var status = threw && !context.Response.HasStarted ? StatusOfException(context) : context.Response.StatusCode;
            var (requests, duration) = series.Completed(methodIndex, status);
            requests.Inc();
            duration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>
    /// The status the exception handler further out answers for an exception escaping the pipeline: 499 when the client
    /// had already gone (ASP.NET Core's handler does not treat that as a failure), 500 otherwise.
    /// </summary>
    internal static int StatusOfException(HttpContext context) =>
        context.RequestAborted.IsCancellationRequested ? StatusCodes.Status499ClientClosedRequest : StatusCodes.Status500InternalServerError;

    private RouteSeries SeriesOf(Endpoint? endpoint)
    {
        // Route groups join their prefix and an empty pattern as "/api/predictions/": one spelling per route.
        if (endpoint is RouteEndpoint { RoutePattern.RawText: { } template })
        {
            return _byEndpoint.TryGetValue(endpoint, out var known)
                ? known
                : _byEndpoint.GetOrAdd(endpoint, _ => new RouteSeries(metrics, "/" + template.Trim('/')));
        }
        return _unmatched ??= new RouteSeries(metrics, UnmatchedRoute);
    }

    // Methods are client-chosen strings; anything unusual is folded into one value.
    private static int MethodIndex(string method)
    {
        for (var i = 0; i < KnownMethods.Length; i++)
        {
            if (string.Equals(KnownMethods[i], method, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return KnownMethods.Length;
    }

    private static string MethodLabel(int index) => index < KnownMethods.Length ? KnownMethods[index] : OtherMethod;

    private static string StatusLabel(int status) => status is >= 100 and < 600
        ? status.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : "other";

    /// <summary>The label children of one route: in-flight per method, requests and duration per method and status.</summary>
    private sealed class RouteSeries(VigieMetrics metrics, string route)
    {
        private readonly Gauge.Child?[] _inFlight = new Gauge.Child?[KnownMethods.Length + 1];
        private readonly ConcurrentDictionary<int, (Counter.Child Requests, Histogram.Child Duration)> _completed = new();

        public Gauge.Child InFlight(int methodIndex) =>
            _inFlight[methodIndex] ??= metrics.HttpRequestsInFlight.WithLabels(route, MethodLabel(methodIndex));

        public (Counter.Child Requests, Histogram.Child Duration) Completed(int methodIndex, int status)
        {
            // Status codes outside 100..599 share one key, as they share the label "other".
            var key = methodIndex * 1000 + (status is >= 100 and < 600 ? status : 0);
            if (_completed.TryGetValue(key, out var children))
            {
                return children;
            }
            var statusLabel = StatusLabel(status);
            var method = MethodLabel(methodIndex);
            return _completed.GetOrAdd(key, _ => (metrics.HttpRequests.WithLabels(route, method, statusLabel),
                metrics.HttpRequestDuration.WithLabels(route, method, statusLabel)));
        }
    }
}

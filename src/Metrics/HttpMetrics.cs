using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prometheus;

namespace Vigie.Metrics;

/// <summary>
/// Counts, times and tracks in-flight requests per route template, method and status code, from each request's
/// <see cref="RequestOutcome"/>: the status the client received, counted once however the answer was made. Requests that
/// match no endpoint are labelled <see cref="RequestOutcome.UnmatchedRoute"/> so scanners probing random paths cannot
/// create series.
/// </summary>
/// <remarks>
/// The label children are looked up once per endpoint, method and status and kept: the per-request work is two
/// increments, a decrement and a histogram observation, with no label arrays built and no label strings hashed.
/// </remarks>
internal sealed class HttpMetrics(VigieMetrics metrics) : IRequestOutcomeObserver
{
    private static readonly string[] KnownMethods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    private const string OtherMethod = "OTHER";

    // Endpoints are created once at start-up; keyed by reference. Bounded by the number of endpoints (+ unmatched).
    private readonly ConcurrentDictionary<Endpoint, RouteSeries> _byEndpoint = new(ReferenceEqualityComparer.Instance);
    private RouteSeries? _unmatched;

    // In flight from routing (when the route is known) to the final answer.
    public void Routed(RequestOutcome outcome) => SeriesOf(outcome.Endpoint).InFlight(MethodIndex(outcome.Method)).Inc();

    public void Completed(RequestOutcome outcome)
    {
        var series = SeriesOf(outcome.Endpoint);
        var methodIndex = MethodIndex(outcome.Method);
        series.InFlight(methodIndex).Dec();
        var (requests, duration) = series.Completed(methodIndex, outcome.StatusCode);
        requests.Inc();
        duration.Observe(outcome.Elapsed.TotalSeconds);
    }

    // Only route endpoints are keyed: other endpoints (routing's 405 and 415 refusals) share the unmatched series.
    private RouteSeries SeriesOf(Endpoint? endpoint) => endpoint is RouteEndpoint
        ? _byEndpoint.TryGetValue(endpoint, out var known) ? known : _byEndpoint.GetOrAdd(endpoint, e => new RouteSeries(metrics, RequestOutcome.RouteOf(e)))
        : _unmatched ??= new RouteSeries(metrics, RequestOutcome.UnmatchedRoute);

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

using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prometheus;

namespace Vigie.Metrics;

/// <summary>
/// The RED instruments of the public web port, declared once: requests, their duration and those in flight, per route
/// template, method and status code. Only <see cref="HttpMetrics"/> records into them; creating them in a registry is
/// public so tests can list every family the app exports.
/// </summary>
public sealed class HttpInstruments
{
    /// <summary>Creates the HTTP instruments in <paramref name="registry"/>.</summary>
    public HttpInstruments(CollectorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        // Exemplars are only exported in the OpenMetrics format with Prometheus' exemplar storage on, which this stack does
        // not enable; reading the trace context for one on every observation is pure cost.
        factory.ExemplarBehavior = new ExemplarBehavior { DefaultExemplarProvider = (_, _) => Exemplar.None };
        Requests = factory.CreateCounter(
            "vigie_http_requests_total",
            "HTTP requests answered by the public web port, once each (an error page re-executed for one is part of its answer). route is the route template asked for ('unmatched' when no endpoint matched, routing's 405 and 415 included), status the HTTP status code the client received (499: it hung up before the answer).",
            ["route", "method", "status"]);
        Duration = factory.CreateHistogram(
            "vigie_http_request_duration_seconds",
            "Time from the request entering the pipeline to the response being complete (error page included), per route template, method and status code.",
            ["route", "method", "status"],
            // Predictions answer in a few milliseconds; uploads of large batches take seconds.
            new HistogramConfiguration { Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        InFlight = factory.CreateGauge(
            "vigie_http_requests_in_flight",
            "Requests currently being processed, per route template and method.",
            ["route", "method"]);
    }

    internal Counter Requests { get; }
    internal Histogram Duration { get; }
    internal Gauge InFlight { get; }
}

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
internal sealed class HttpMetrics(HttpInstruments metrics) : IRequestOutcomeObserver
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
    private sealed class RouteSeries(HttpInstruments metrics, string route)
    {
        private readonly Gauge.Child?[] _inFlight = new Gauge.Child?[KnownMethods.Length + 1];
        private readonly ConcurrentDictionary<int, (Counter.Child Requests, Histogram.Child Duration)> _completed = new();

        public Gauge.Child InFlight(int methodIndex) =>
            _inFlight[methodIndex] ??= metrics.InFlight.WithLabels(route, MethodLabel(methodIndex));

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
            return _completed.GetOrAdd(key, _ => (metrics.Requests.WithLabels(route, method, statusLabel),
                metrics.Duration.WithLabels(route, method, statusLabel)));
        }
    }
}

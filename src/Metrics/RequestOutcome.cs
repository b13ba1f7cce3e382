using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Vigie.Metrics;

/// <summary>
/// One request as its client saw it: the route it asked for, the status it received and how long it waited. The HTTP
/// metrics and the request-summary log both record this, so they cannot disagree, and neither can guess: the status is
/// read once the exception handler and the status code pages have made the answer (see
/// <see cref="MetricsServiceCollectionExtensions.UseRequestOutcomes"/>), and an error page re-executed through the
/// pipeline for the request is part of its answer, not a second request.
/// </summary>
public sealed class RequestOutcome
{
    /// <summary>Route of requests no endpoint matched: unknown paths, static files, routing's own 405 and 415 refusals.</summary>
    public const string UnmatchedRoute = "unmatched";

    // One spelling per endpoint, made once: route groups join their prefix and an empty pattern as "/api/predictions/",
    // Razor Pages give "History" without the slash. Weak keys: the endpoints of a stopped app (tests start several) go.
    private static readonly ConditionalWeakTable<Endpoint, string> Routes = new();

    private readonly IRequestOutcomeObserver[] _observers;
    private readonly long _started = Stopwatch.GetTimestamp();

    internal RequestOutcome(string method, IRequestOutcomeObserver[] observers)
    {
        Method = method;
        _observers = observers;
    }

    /// <summary>The endpoint routing chose for the request; null when none matched. Error pages re-executed later do not change it.</summary>
    public Endpoint? Endpoint { get; private set; }

    /// <summary>Whether routing has run for the request (it has not for a static file, served before routing).</summary>
    internal bool IsRouted { get; private set; }

    /// <summary>The route template the client asked for, with one leading slash, or <see cref="UnmatchedRoute"/>.</summary>
    public string Route => RouteOf(Endpoint);

    /// <summary>The request method as the client sent it.</summary>
    public string Method { get; }

    /// <summary>The status the client received, 499 when it hung up before any of the answer was sent; set on completion.</summary>
    public int StatusCode { get; private set; }

    /// <summary>From the request entering the pipeline to its answer being complete, error page included; set on completion.</summary>
    public TimeSpan Elapsed { get; private set; }

    /// <summary>The route label of an endpoint: its template with one leading slash, or <see cref="UnmatchedRoute"/>.</summary>
    public static string RouteOf(Endpoint? endpoint) =>
        endpoint is RouteEndpoint { RoutePattern.RawText: { } }
            ? Routes.GetValue(endpoint, static e => "/" + ((RouteEndpoint)e).RoutePattern.RawText!.Trim('/'))
            : UnmatchedRoute;

    /// <summary>
    /// The status the client receives for a request whose pipeline has returned (or thrown, <paramref name="threw"/>):
    /// 499 when the client hung up before any of the answer was sent, whatever the app meant to answer; 500 for an
    /// exception nothing answered (Kestrel sends it); otherwise the response's status, which is on the wire or about to be.
    /// </summary>
    internal static int StatusOf(HttpContext context, bool threw)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Response.HasStarted && context.RequestAborted.IsCancellationRequested)
        {
            return StatusCodes.Status499ClientClosedRequest;
        }
        return threw && !context.Response.HasStarted ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
    }

    /// <summary>Records the endpoint of the request's first pass through routing; later passes (error pages) are ignored.</summary>
    internal void Routed(Endpoint? endpoint)
    {
        if (IsRouted)
        {
            return;
        }
        Endpoint = endpoint;
        IsRouted = true;
        foreach (var observer in _observers)
        {
            observer.Routed(this);
        }
    }

    internal void Complete(HttpContext context, bool threw)
    {
        Routed(null);
        StatusCode = StatusOf(context, threw);
        Elapsed = Stopwatch.GetElapsedTime(_started);
        foreach (var observer in _observers)
        {
            observer.Completed(this);
        }
    }
}

/// <summary>Records request outcomes: the HTTP metrics, the request-summary log. Registered as a singleton service.</summary>
public interface IRequestOutcomeObserver
{
    /// <summary>Routing has run for the request (or will not): <see cref="RequestOutcome.Route"/> is known. Once per request.</summary>
    void Routed(RequestOutcome outcome)
    {
    }

    /// <summary>The request's answer is final: its status and duration are set. Once per request, after <see cref="Routed"/>.</summary>
    void Completed(RequestOutcome outcome);
}

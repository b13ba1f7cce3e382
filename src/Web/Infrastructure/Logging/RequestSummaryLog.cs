using Vigie.Metrics;

namespace Vigie.Web.Infrastructure.Logging;

/// <summary>
/// Writes one summary line per request (method, route template, status, duration) instead of ASP.NET's two
/// Information lines: half the log volume, and the route is the template, not the raw path with ids. The line is
/// written from the request's <see cref="RequestOutcome"/>, as the HTTP metrics are: both say what the client got.
/// </summary>
internal sealed class RequestSummaryLog(ILogger<RequestSummaryLog> logger) : IRequestOutcomeObserver
{
    public void Completed(RequestOutcome outcome) =>
        Answered(logger, outcome.Method, outcome.Route, outcome.StatusCode, outcome.Elapsed.TotalMilliseconds, null);

    // Defined once: no argument array, no boxing, and the template is parsed once, not per request. No event id, so the
    // JSON line carries the same properties as before (an event name would add one).
    private static readonly Action<ILogger, string, string, int, double, Exception?> Answered = LoggerMessage.Define<string, string, int, double>(
        LogLevel.Information, default, "{Method} {Route} answered {StatusCode} in {ElapsedMs:F1} ms");
}

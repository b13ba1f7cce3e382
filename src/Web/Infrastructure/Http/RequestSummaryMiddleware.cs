using System.Diagnostics;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// Writes one summary line per request (method, route template, status, duration) instead of ASP.NET's two
/// Information lines: half the log volume, and the route is the template, not the raw path with ids.
/// </summary>
internal sealed class RequestSummaryMiddleware(ILogger<RequestSummaryMiddleware> logger) : IMiddleware
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            Answered(logger, context.Request.Method, route, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds, null);
        }
    }

    // Defined once: no argument array, no boxing, and the template is parsed once, not per request. No event id, so the
    // JSON line carries the same properties as before (an event name would add one).
    private static readonly Action<ILogger, string, string, int, double, Exception?> Answered = LoggerMessage.Define<string, string, int, double>(
        LogLevel.Information, default, "{Method} {Route} answered {StatusCode} in {ElapsedMs:F1} ms");
}

using System.Diagnostics;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// Writes one summary line per request (method, route template, status, duration) instead of ASP.NET's two
/// Information lines: half the log volume, and the route is the template, not the raw path with ids.
/// </summary>
/// <remarks>A conventional middleware, built once: no resolution from the request's services on every request.</remarks>
internal sealed class RequestSummaryMiddleware(RequestDelegate next, ILogger<RequestSummaryMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
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
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            // An exception escaping here is answered further out: 499 when the client has gone, 500 otherwise.
            var status = threw && !context.Response.HasStarted
                ? (context.RequestAborted.IsCancellationRequested ? StatusCodes.Status499ClientClosedRequest : StatusCodes.Status500InternalServerError)
                : context.Response.StatusCode;
            Answered(logger, context.Request.Method, route, status, Stopwatch.GetElapsedTime(started).TotalMilliseconds, null);
        }
    }

    // Defined once: no argument array, no boxing, and the template is parsed once, not per request. No event id, so the
    // JSON line carries the same properties as before (an event name would add one).
    private static readonly Action<ILogger, string, string, int, double, Exception?> Answered = LoggerMessage.Define<string, string, int, double>(
        LogLevel.Information, default, "{Method} {Route} answered {StatusCode} in {ElapsedMs:F1} ms");
}

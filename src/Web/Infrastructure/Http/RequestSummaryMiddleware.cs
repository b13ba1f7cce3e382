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
            logger.LogInformation("{Method} {Route} answered {StatusCode} in {ElapsedMs:F1} ms",
                context.Request.Method, route, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }
}

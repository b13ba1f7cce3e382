using Microsoft.AspNetCore.Diagnostics;
using Vigie.Web.Infrastructure.Database;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// Every error of the API and health endpoints is RFC 7807 problem+json with the right status; the pages get an
/// HTML error page instead. Which one is decided by the path, so a browser that opens an API URL still gets JSON.
/// </summary>
public static class ProblemResponses
{
    /// <summary>The id that ties a response to its log lines: the W3C trace context id, as web.log's traceId holds it.</summary>
    public static string TraceId(HttpContext context) => System.Diagnostics.Activity.Current?.Id ?? context.TraceIdentifier;

    public static bool IsApiRequest(HttpContext context) => IsApiPath(context.Request.Path);

    private static bool IsApiPath(PathString path) =>
        path.StartsWithSegments("/api") || path.StartsWithSegments("/health") || path.StartsWithSegments("/openapi");

    public static IServiceCollection AddVigieProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
            context.ProblemDetails.Extensions["traceId"] = TraceId(context.HttpContext));
        services.AddExceptionHandler<ApiExceptionHandler>();
        // Binding failures (malformed JSON, wrong content type, body too large) throw, so the handler can say what was wrong.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return services;
    }

    /// <summary>Exceptions and empty error responses become problem details for the API and an error page for the UI.</summary>
    public static WebApplication UseVigieErrorResponses(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandlingPath = "/Error",
            // ApiExceptionHandler below logs every exception once, at the level it deserves (an outage's 503 is a
            // warning without a stack trace); the middleware's own "unhandled exception" ERROR would repeat it.
            SuppressDiagnosticsCallback = _ => true,
        });
        app.UseWhen(IsApiRequest, api => api.UseStatusCodePages());
        app.UseWhen(context => !IsApiRequest(context), ui => ui.UseStatusCodePagesWithReExecute("/Error", "?code={0}"));
        return app;
    }

    /// <summary>
    /// Status and message for an exception, shared by the API handler and the error page. <paramref name="read"/> says
    /// the request only read (GET, HEAD): "nothing was stored" would then be beside the point.
    /// </summary>
    public static (int Status, string Title, string Detail) Describe(Exception exception, bool read = false) => Unwrap(exception) switch
    {
        DatabaseUnavailableException when read => (StatusCodes.Status503ServiceUnavailable, "Database unavailable",
            "The database cannot be reached right now, so what this page shows cannot be read. Nothing is lost: try again in a few seconds."),
        DatabaseUnavailableException => (StatusCodes.Status503ServiceUnavailable, "Database unavailable",
            "The database cannot be reached right now; nothing was stored. Try again in a few seconds."),
        Vigie.Web.Features.Predictions.PredictionQueueFullException => (StatusCodes.Status503ServiceUnavailable, "Too many predictions waiting",
            "Too many predictions are waiting to be stored; nothing was stored. Try again in a few seconds."),
        Vigie.Web.Classifier.ModelUnavailableException => (StatusCodes.Status503ServiceUnavailable, "Model not loaded yet",
            "The model in service is loaded from the registry in the database, which has not answered since start-up; nothing was stored. Try again in a few seconds."),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => (StatusCodes.Status413PayloadTooLarge, "Request too large",
            "The request body is larger than the server accepts."),
        BadHttpRequestException bad => (bad.StatusCode, ReasonTitle(bad.StatusCode), Explain(bad)),
        Microsoft.AspNetCore.Antiforgery.AntiforgeryValidationException => (StatusCodes.Status400BadRequest, "Invalid form token",
            "The form's anti-forgery token is missing or invalid. Reload the page and submit again."),
        _ => (StatusCodes.Status500InternalServerError, "Unexpected error", "The server failed to process the request; the error is logged."),
    };

    // The framework wraps what failed under it (the key ring that could not be read surfaces as a CryptographicException
    // around DatabaseUnavailableException): the cause decides the answer.
    private static Exception Unwrap(Exception exception)
    {
        for (var inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is DatabaseUnavailableException)
            {
                return inner;
            }
        }
        return exception;
    }

    /// <summary>True for a method that only reads (GET, HEAD).</summary>
    public static bool IsRead(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method);

    private static string ReasonTitle(int status) => status switch
    {
        StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
        StatusCodes.Status408RequestTimeout => "Request timeout",
        _ => "Bad request",
    };

    // The binder's message names the parameter; a JSON body's fault is worded by JsonBodyErrors, without .NET internals.
    private static string Explain(BadHttpRequestException bad) =>
        bad.InnerException is System.Text.Json.JsonException json ? JsonBodyErrors.MalformedDetail(json) : bad.Message;

    private sealed class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            var (status, title, detail) = Describe(exception, IsRead(httpContext.Request.Method));
            if (status >= 500 && status != StatusCodes.Status503ServiceUnavailable)
            {
                logger.LogError(exception, "Unhandled exception on {Path}", httpContext.Features.Get<IExceptionHandlerPathFeature>()?.Path);
            }
            else if (status == StatusCodes.Status503ServiceUnavailable)
            {
                logger.LogWarning("Answered 503: {Reason}", exception.Message);
            }
            // The middleware has already switched the path to /Error for re-execution; decide on the original one.
            var originalPath = httpContext.Features.Get<IExceptionHandlerPathFeature>()?.Path ?? httpContext.Request.Path.Value ?? string.Empty;
            if (!IsApiPath(originalPath))
            {
                return false;
            }
            if (status == StatusCodes.Status503ServiceUnavailable)
            {
                httpContext.Response.Headers.RetryAfter = "5";
            }
            var traceId = new Dictionary<string, object?> { ["traceId"] = TraceId(httpContext) };
            if (exception is BadHttpRequestException { InnerException: System.Text.Json.JsonException json })
            {
                var bodyType = httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.RequestType;
                await (JsonBodyErrors.FieldErrors(json, bodyType) is { } errors
                    ? TypedResults.ValidationProblem(errors, extensions: traceId)
                    : (IResult)TypedResults.Problem(detail: JsonBodyErrors.MalformedDetail(json), statusCode: StatusCodes.Status400BadRequest, title: JsonBodyErrors.MalformedTitle, extensions: traceId))
                    .ExecuteAsync(httpContext);
                return true;
            }
            // Written directly rather than through IProblemDetailsService, whose writers may decline by Accept header:
            // the API answers problem+json whatever the client asked for.
            await TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: traceId).ExecuteAsync(httpContext);
            return true;
        }
    }
}

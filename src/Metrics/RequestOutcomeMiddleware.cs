using Microsoft.AspNetCore.Http;

namespace Vigie.Metrics;

/// <summary>
/// The first middleware of the pipeline: gives each request its <see cref="RequestOutcome"/> and completes it once the
/// rest of the pipeline (exception handler and status code pages included) has returned, when the status is final.
/// </summary>
/// <remarks>
/// A conventional middleware (built once with the next delegate), not an <see cref="IMiddleware"/> that ASP.NET Core
/// would resolve from the request's services on every request.
/// </remarks>
internal sealed class RequestOutcomeMiddleware(RequestDelegate next, IEnumerable<IRequestOutcomeObserver> observers)
{
    private readonly IRequestOutcomeObserver[] _observers = observers.ToArray();

    public async Task InvokeAsync(HttpContext context)
    {
        var outcome = new RequestOutcome(context.Request.Method, _observers);
        context.Features.Set(outcome);
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
            // Error handling cleared the endpoint or re-routed the request to its error page: give the request back its
            // own (or none), so what is logged from here on (the request-summary line's `route`) names the one asked for.
            if (outcome.IsRouted && !ReferenceEquals(context.GetEndpoint(), outcome.Endpoint))
            {
                context.SetEndpoint(outcome.Endpoint);
            }
            outcome.Complete(context, threw);
        }
    }
}

/// <summary>Placed right after routing: tells the request's <see cref="RequestOutcome"/> which endpoint the client asked for.</summary>
internal sealed class RequestRouteMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        context.Features.Get<RequestOutcome>()?.Routed(context.GetEndpoint());
        return next(context);
    }
}

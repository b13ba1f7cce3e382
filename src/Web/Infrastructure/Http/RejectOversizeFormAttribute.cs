using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// Reads a posted form before the antiforgery check does. A body over Kestrel's limit then answers 413 (the error
/// page says the upload is too large) instead of failing inside the antiforgery check, which reports any unreadable
/// form as a bad token (400) and leaves a body that cannot be read again for the error page.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class RejectOversizeFormAttribute : Attribute, IAsyncAuthorizationFilter, IOrderedFilter
{
    /// <summary>Before every other authorization filter, antiforgery validation (order 1000) included.</summary>
    public int Order => int.MinValue;

    public async Task OnAuthorizationAsync(AuthorizationFilterContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.HttpContext.Request;
        if (!HttpMethods.IsPost(request.Method) || !request.HasFormContentType)
        {
            return;
        }
        try
        {
            // Buffered by the framework (to disk above 64 KB): the antiforgery check and model binding reuse it.
            await request.ReadFormAsync(context.HttpContext.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            context.Result = new StatusCodeResult(StatusCodes.Status413PayloadTooLarge);
        }
    }
}

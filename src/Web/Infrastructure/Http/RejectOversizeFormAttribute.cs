using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// Reads a posted form before the antiforgery check does. A body over Kestrel's limit, or a field over the form
/// reader's limits, then answers 413 (the error page says the upload is too large) instead of failing inside the
/// antiforgery check, which reports any unreadable form as a bad token (400) or lets the reader's exception become a 500.
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
        catch (BadHttpRequestException ex)
        {
            // 413 over Kestrel's body limit, 408 for a body trickling in too slowly, 400 for a malformed one.
            context.Result = new StatusCodeResult(ex.StatusCode);
        }
        catch (InvalidDataException ex)
        {
            // The form reader's own limits ("Form value length limit 4194304 exceeded", value count, multipart body…)
            // are sizes too; anything else it cannot parse is a bad request.
            context.Result = new StatusCodeResult(ex.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)
                ? StatusCodes.Status413PayloadTooLarge
                : StatusCodes.Status400BadRequest);
        }
    }
}

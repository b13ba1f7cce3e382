using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vigie.Web.Infrastructure.Http;

namespace Vigie.Web.Features.Errors;

/// <summary>The designed error page for the UI: what happened in plain words, never a stack trace.</summary>
[IgnoreAntiforgeryToken]
public sealed class ErrorModel : PageModel
{
    public int Status { get; private set; }
    public string Title { get; private set; } = "Something went wrong";
    public string Detail { get; private set; } = string.Empty;

    // No parameters, no bound properties: a re-executed POST (a form whose body could not be read) must not bind,
    // which would read the body again and fail a second time.
    public void OnGet() => Describe(Code());

    public void OnPost() => Describe(Code());

    private int? Code() =>
        int.TryParse(Request.Query["code"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code) ? code : null;

    private void Describe(int? code)
    {
        if (HttpContext.Features.Get<IExceptionHandlerFeature>()?.Error is { } error)
        {
            (Status, Title, Detail) = ProblemResponses.Describe(error, ProblemResponses.IsRead(Request.Method));
        }
        else
        {
            Status = code ?? StatusCodes.Status500InternalServerError;
            (Title, Detail) = Status switch
            {
                StatusCodes.Status404NotFound => NotFound(HttpContext.Features.Get<IStatusCodeReExecuteFeature>()),
                StatusCodes.Status400BadRequest => ("Bad request", "The request could not be understood. Reload the page and try again."),
                StatusCodes.Status413PayloadTooLarge => ("Upload too large", "What was sent is larger than the server accepts; nothing was stored."),
                StatusCodes.Status429TooManyRequests => ("Too many requests", "This address sent more of these requests than the server accepts in a short time; nothing was stored. Try again in a minute."),
                _ => ("Something went wrong", "The request could not be completed."),
            };
        }
        Response.StatusCode = Status;
    }

    // What was not found, from the address asked for: a prediction, a batch, or a page.
    private static (string Title, string Detail) NotFound(IStatusCodeReExecuteFeature? original)
    {
        var path = original?.OriginalPath ?? string.Empty;
        if (path.StartsWith("/Predictions/", StringComparison.OrdinalIgnoreCase)
            && long.TryParse(path["/Predictions/".Length..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            return ("Prediction not found", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"There is no prediction #{id}: check the number, or find it in the history."));
        }
        if (path.Equals("/Batch", StringComparison.OrdinalIgnoreCase) && original?.OriginalQueryString is { Length: > 0 })
        {
            return ("Batch not found", "There is no batch upload with this id: upload the file again to get a new report.");
        }
        return ("Page not found", "There is nothing at this address. Check it, or go on from one of the pages below.");
    }
}

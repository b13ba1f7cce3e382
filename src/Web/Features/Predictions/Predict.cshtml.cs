using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vigie.Web.Infrastructure.Http;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Predictions;

/// <summary>
/// The home page: one prediction from the form, then the prediction's page (post/redirect/get). When it cannot be
/// stored now (database unreachable, queue full, model not loaded) the form comes back with the values typed and the
/// reason above the fields, answered 503.
/// </summary>
[Vigie.Web.Infrastructure.Http.RejectOversizeForm]
public sealed class PredictModel(PredictionService predictions) : PageModel
{
    [BindProperty]
    public PredictionRequest Input { get; set; } = new();

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        if (!ModelState.IsValid)
        {
            return Page();
        }
        PredictionOutcome outcome;
        try
        {
            outcome = await predictions.PredictAsync(Input, Channels.Form, cancellationToken);
        }
        catch (Exception ex) when (ProblemResponses.Describe(ex) is { Status: StatusCodes.Status503ServiceUnavailable } unavailable)
        {
            ModelState.AddModelError(string.Empty, $"{unavailable.Title}: {unavailable.Detail}");
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Response.Headers.RetryAfter = "5";
            return Page();
        }
        switch (outcome)
        {
            case PredictionOutcome.Created created:
                return RedirectToPage("Details", new { id = created.Prediction.Id });
            case PredictionOutcome.Invalid invalid:
                foreach (var (field, messages) in invalid.Errors)
                {
                    foreach (var message in messages)
                    {
                        ModelState.AddModelError($"{nameof(Input)}.{Measurement.Named(field)?.PropertyName ?? field}", message);
                    }
                }
                return Page();
            default:
                throw new InvalidOperationException("Unexpected prediction outcome.");
        }
    }
}

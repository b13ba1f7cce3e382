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
        // A value that is not a number fails binding; the other fields are still checked now, so one submit reports
        // every field's problem (out of range, missing) instead of revealing them one at a time.
        AddFieldErrors(Input.Validate());
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
                AddFieldErrors(invalid.Errors);
                return Page();
            default:
                throw new InvalidOperationException("Unexpected prediction outcome.");
        }
    }

    // Beside each field, unless binding already said why its value is unusable (one message per field is enough).
    private void AddFieldErrors(IReadOnlyDictionary<string, string[]> errors)
    {
        foreach (var (field, messages) in errors)
        {
            var key = $"{nameof(Input)}.{Measurement.Named(field)?.PropertyName ?? field}";
            if (ModelState[key] is { Errors.Count: > 0 })
            {
                continue;
            }
            foreach (var message in messages)
            {
                ModelState.AddModelError(key, message);
            }
        }
    }
}

using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Vigie.Web.Features.Predictions;

/// <summary>The home page: one prediction from the form, then the prediction's page (post/redirect/get).</summary>
[Vigie.Web.Infrastructure.Http.RejectOversizeForm]
public sealed class PredictModel(PredictionService predictions) : PageModel
{
    [BindProperty]
    public MeasurementsForm Input { get; set; } = new();

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        if (!ModelState.IsValid)
        {
            return Page();
        }
        switch (await predictions.PredictAsync(Input.ToRequest(), Channels.Form, cancellationToken))
        {
            case PredictionOutcome.Created created:
                return RedirectToPage("Details", new { id = created.Prediction.Id });
            case PredictionOutcome.Invalid invalid:
                foreach (var (field, messages) in invalid.Errors)
                {
                    foreach (var message in messages)
                    {
                        ModelState.AddModelError($"{nameof(Input)}.{MeasurementsForm.PropertyOf(field)}", message);
                    }
                }
                return Page();
            default:
                throw new InvalidOperationException("Unexpected prediction outcome.");
        }
    }
}

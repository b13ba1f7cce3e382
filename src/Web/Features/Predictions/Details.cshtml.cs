using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Vigie.Web.Features.Predictions;

/// <summary>One stored prediction with its probabilities, and the feedback form giving its true species.</summary>
[Vigie.Web.Infrastructure.Http.RejectOversizeForm]
public sealed class DetailsModel(PredictionService predictions) : PageModel
{
    public Prediction? Prediction { get; private set; }

    [BindProperty]
    public string? ActualSpecies { get; set; }

    [TempData]
    public string? Notice { get; set; }

    public async Task<IActionResult> OnGetAsync(long id, CancellationToken cancellationToken)
    {
        Prediction = await predictions.FindAsync(id, cancellationToken);
        return Prediction is null ? NotFound() : Page();
    }

    public async Task<IActionResult> OnPostFeedbackAsync(long id, CancellationToken cancellationToken)
    {
        switch (await predictions.RecordFeedbackAsync(id, ActualSpecies, cancellationToken))
        {
            case FeedbackOutcome.Recorded:
                Notice = "Thank you: the true species is recorded.";
                return RedirectToPage(new { id });
            case FeedbackOutcome.AlreadyRecorded:
                Notice = "Feedback for this prediction was already recorded.";
                return RedirectToPage(new { id });
            case FeedbackOutcome.NotFound:
                return NotFound();
            case FeedbackOutcome.Invalid invalid:
                ModelState.AddModelError(nameof(ActualSpecies), invalid.Errors.Values.First()[0]);
                Prediction = await predictions.FindAsync(id, cancellationToken);
                return Page();
            default:
                throw new InvalidOperationException("Unexpected feedback outcome.");
        }
    }
}

using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;
using Vigie.Web.Infrastructure.Security;

namespace Vigie.Web.Features.Batches;

/// <summary>CSV batch upload: the form, the report of the stored batch (post/redirect/get), and its results CSV.</summary>
[Vigie.Web.Infrastructure.Http.RejectOversizeForm]
[EnableRateLimiting(ClientRateLimits.Uploads)]
public sealed class UploadModel(BatchService batches) : PageModel
{
    [BindProperty]
    public IFormFile? Upload { get; set; }

    [BindProperty(SupportsGet = true)]
    public Guid? Id { get; set; }

    /// <summary>The report of the batch named by <see cref="Id"/>, when there is one.</summary>
    public BatchResultsReport? Report { get; private set; }

    public int MaxRows => batches.MaxRows;

    public long MaxUploadBytes => batches.MaxUploadBytes;

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        if (Id is { } id)
        {
            Report = await batches.ReportAsync(id, cancellationToken);
            if (Report is null)
            {
                return NotFound();
            }
        }
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        if (Upload is null || Upload.Length == 0)
        {
            ModelState.AddModelError(nameof(Upload), "Choose a CSV file to upload.");
            return Page();
        }
        await using var content = Upload.OpenReadStream();
        switch (await batches.UploadAsync(Upload.FileName, Upload.Length, content, cancellationToken))
        {
            case BatchOutcome.Stored stored:
                return RedirectToPage(new { id = stored.Report.BatchId });
            case BatchOutcome.TooLarge tooLarge:
                Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                ModelState.AddModelError(nameof(Upload), $"The file is larger than the {tooLarge.Limit / 1024.0 / 1024.0:0.#} MB limit; nothing was stored.");
                return Page();
            case BatchOutcome.TooManyRows tooMany:
                Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                ModelState.AddModelError(nameof(Upload), BatchService.TooManyRowsMessage(tooMany.Limit));
                return Page();
            case BatchOutcome.InvalidFile invalid:
                ModelState.AddModelError(nameof(Upload), invalid.Message + " Nothing was stored.");
                return Page();
            default:
                throw new InvalidOperationException("Unexpected batch outcome.");
        }
    }
}

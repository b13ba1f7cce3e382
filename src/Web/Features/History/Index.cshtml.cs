using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vigie.Web.Features.Predictions;

namespace Vigie.Web.Features.History;

/// <summary>Stored predictions, newest first, filtered by species and channel, keyset-paged like the API.</summary>
public sealed class IndexModel(PredictionService predictions) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? Species { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Channel { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Cursor { get; set; }

    /// <summary>The batch upload whose predictions are listed (the batch report links here), or null for all.</summary>
    [BindProperty(SupportsGet = true)]
    public string? Batch { get; set; }

    public PredictionPage? Results { get; private set; }

    public IReadOnlyDictionary<string, string[]> Errors { get; private set; } = new Dictionary<string, string[]>();

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        var (query, errors) = PredictionQuery.Parse(null, Cursor, Species, Channel, Batch);
        if (query is null)
        {
            Errors = errors;
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        Results = await predictions.ListAsync(query, cancellationToken);
        return Page();
    }
}

using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Vigie.Web.Features.Runbook;

/// <summary>The alert runbooks, rendered from prometheus/RUNBOOK.md as built into this version of the app.</summary>
public sealed class IndexModel(RunbookDocument runbook) : PageModel
{
    public RunbookDocument Runbook { get; } = runbook;
}

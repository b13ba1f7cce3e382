using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vigie.Web.Infrastructure.Database;

namespace Vigie.Web.Features.Alerts;

/// <summary>The alert inbox: what fires now (from the table, or from memory while the database is down) and the resolved history.</summary>
public sealed class IndexModel(AlertInbox inbox, AlertStore store) : PageModel
{
    public const int PageSize = 20;

    [BindProperty(SupportsGet = true)]
    public long? Cursor { get; set; }

    public IReadOnlyList<AlertNotification> Firing { get; private set; } = [];

    public IReadOnlyList<AlertNotification> Resolved { get; private set; } = [];

    public long? NextCursor { get; private set; }

    /// <summary>True when the history could not be read: the database is unavailable.</summary>
    public bool HistoryUnavailable { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        (Firing, var stored) = await inbox.FiringNowAsync(cancellationToken);
        if (!stored)
        {
            HistoryUnavailable = true;
            return;
        }
        try
        {
            (Resolved, NextCursor) = await store.ResolvedAsync(Cursor, PageSize, cancellationToken);
        }
        catch (DatabaseUnavailableException)
        {
            HistoryUnavailable = true;
        }
    }
}

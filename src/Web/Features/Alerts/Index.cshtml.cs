using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vigie.Web.Infrastructure.Database;

namespace Vigie.Web.Features.Alerts;

/// <summary>
/// The alert inbox: what fires now (from the table, or from memory while the database is down), what is pending in
/// Prometheus (not firing yet, so never sent to the inbox), and the resolved history.
/// </summary>
public sealed class IndexModel(AlertInbox inbox, AlertStore store, PendingAlerts pending) : PageModel
{
    public const int PageSize = 20;

    [BindProperty(SupportsGet = true)]
    public long? Cursor { get; set; }

    public IReadOnlyList<AlertNotification> Firing { get; private set; } = [];

    public IReadOnlyList<AlertNotification> Resolved { get; private set; } = [];

    public long? NextCursor { get; private set; }

    public PendingAlertsView Pending { get; private set; } = new([], null);

    /// <summary>True when the firing list comes from this instance's memory: the database could not be read.</summary>
    public bool FiringFromMemory { get; private set; }

    /// <summary>True when the history could not be read: the database is unavailable.</summary>
    public bool HistoryUnavailable { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var pendingRead = pending.ReadAsync(cancellationToken);
        (Firing, var stored) = await inbox.FiringNowAsync(cancellationToken);
        Pending = await pendingRead;
        if (!stored)
        {
            FiringFromMemory = true;
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

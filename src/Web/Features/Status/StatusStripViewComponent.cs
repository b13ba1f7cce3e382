using Microsoft.AspNetCore.Mvc;
using Vigie.Web.Features.Alerts;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Status;

/// <summary>What the status strip shows on every page.</summary>
/// <remarks><see cref="FiringAlerts"/> and <see cref="CriticalAlerts"/> count the inbox's firing alerts. <see cref="ModelLoaded"/> is false until the model registry has been read (the database has not answered since start-up).</remarks>
public sealed record StatusStripModel(bool DatabaseUp, string ModelVersion, double HeldOutAccuracy, MonitoringLinks Links, bool ModelLoaded = true, int FiringAlerts = 0, int CriticalAlerts = 0);

/// <summary>The strip at the top of every page: database state from the last probe, the model in service, links to monitoring.</summary>
public sealed class StatusStripViewComponent(DatabaseStatus database, ModelHolder models, AlertInbox alerts, MonitoringLinks links) : ViewComponent
{
    public IViewComponentResult Invoke()
    {
        var model = models.Active?.Model;
        var firing = alerts.Firing;
        return View(new StatusStripModel(database.Ready, model?.Version ?? "loading", model?.HeldOutAccuracy ?? 0, links, model is not null,
            firing.Count, firing.Count(a => a.Severity == "critical")));
    }
}

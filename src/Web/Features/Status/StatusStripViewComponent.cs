using Microsoft.AspNetCore.Mvc;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Model;

namespace Vigie.Web.Features.Status;

/// <summary>What the status strip shows on every page.</summary>
public sealed record StatusStripModel(bool DatabaseUp, string? DatabaseError, string ModelVersion, double HeldOutAccuracy, MonitoringLinks Links);

/// <summary>The strip at the top of every page: database state from the last probe, the model in service, links to monitoring.</summary>
public sealed class StatusStripViewComponent(DatabaseStatus database, SpeciesModel model, MonitoringLinks links) : ViewComponent
{
    public IViewComponentResult Invoke() =>
        View(new StatusStripModel(database.Ready, database.LastError, model.Version, model.HeldOutAccuracy, links));
}

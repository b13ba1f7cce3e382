using System.ComponentModel.DataAnnotations;

namespace Vigie.Web.Features.Status;

/// <summary>Where the status strip links to (<c>Links:Grafana</c>, <c>Links:Prometheus</c>, <c>Links:GrafanaInstalled</c>).</summary>
public sealed class MonitoringLinks
{
    [Required, Url]
    public string Grafana { get; set; } = "http://localhost:3000";
    [Required, Url]
    public string Prometheus { get; set; } = "http://localhost:9090";

    /// <summary>
    /// False where no Grafana runs beside the app: the native stack sets it when no Grafana package is installed, so the
    /// strip says "Grafana: not installed here" instead of linking to an address nothing answers.
    /// </summary>
    public bool GrafanaInstalled { get; set; } = true;
}

using System.ComponentModel.DataAnnotations;

namespace Vigie.Web.Features.Status;

/// <summary>Where the status strip links to (<c>Links:Grafana</c>, <c>Links:Prometheus</c>).</summary>
public sealed class MonitoringLinks
{
    [Required, Url]
    public string Grafana { get; set; } = "http://localhost:3000";
    [Required, Url]
    public string Prometheus { get; set; } = "http://localhost:9090";
}

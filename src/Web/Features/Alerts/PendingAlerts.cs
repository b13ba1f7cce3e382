using System.ComponentModel.DataAnnotations;
using System.Net.Http.Json;
using System.Text.Json;

namespace Vigie.Web.Features.Alerts;

/// <summary>Where the Alerts page reads pending alerts from (<c>Alerts:*</c>).</summary>
public sealed class PendingAlertsOptions
{
    /// <summary>
    /// Prometheus as this app reaches it (Compose: <c>http://prometheus:9090</c>; the native stack sets its own port).
    /// Pending alerts exist only in Prometheus: Alertmanager, and so the inbox, hear of an alert once it fires. Empty:
    /// the page says pending alerts are not available.
    /// </summary>
    [Url]
    public string? PrometheusUrl { get; set; }

    /// <summary>How long the page waits for Prometheus before it shows the other sections without the pending ones (default 2 s).</summary>
    [Range(0.1, 30)]
    public double TimeoutSeconds { get; set; } = 2;
}

/// <summary>An alert whose condition holds but not yet for its rule's <c>for:</c> duration: it fires if it lasts.</summary>
public sealed record PendingAlert(string AlertName, string Severity, string? Summary, DateTimeOffset? ActiveAt);

/// <summary>The pending alerts, or why they are not known (<see cref="Unavailable"/>).</summary>
public sealed record PendingAlertsView(IReadOnlyList<PendingAlert> Alerts, string? Unavailable);

/// <summary>Reads the pending alerts from Prometheus' <c>/api/v1/alerts</c>, most severe and longest pending first.</summary>
public sealed class PendingAlerts(HttpClient http, PendingAlertsOptions options, ILogger<PendingAlerts> logger)
{
    public async Task<PendingAlertsView> ReadAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(options.PrometheusUrl))
        {
            return new PendingAlertsView([], "Pending alerts are read from Prometheus, and no address is configured (Alerts__PrometheusUrl).");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        try
        {
            var answer = await http.GetFromJsonAsync<JsonElement>(new Uri(new Uri(options.PrometheusUrl.TrimEnd('/') + "/"), "api/v1/alerts"), timeout.Token);
            var alerts = answer.GetProperty("data").GetProperty("alerts").EnumerateArray()
                .Where(a => a.GetProperty("state").GetString() == "pending")
                .Select(a => new PendingAlert(
                    Text(a, "labels", "alertname") ?? "unnamed",
                    Text(a, "labels", "severity") ?? "none",
                    Text(a, "annotations", "summary"),
                    a.TryGetProperty("activeAt", out var at) && at.TryGetDateTimeOffset(out var activeAt) ? activeAt : null))
                .OrderBy(a => a.Severity switch { "critical" => 0, "warning" => 1, _ => 2 })
                .ThenBy(a => a.ActiveAt)
                .ToList();
            return new PendingAlertsView(alerts, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogWarning("Pending alerts not read from Prometheus at {PrometheusUrl}: {Reason}", options.PrometheusUrl, ex.Message);
            return new PendingAlertsView([], $"Prometheus ({options.PrometheusUrl}) did not answer, so pending alerts are not known right now.");
        }
    }

    private static string? Text(JsonElement alert, string group, string name) =>
        alert.TryGetProperty(group, out var values) && values.TryGetProperty(name, out var value) ? value.GetString() : null;
}

using System.Text.Json.Serialization;

namespace Vigie.Web.Features.Alerts;

/// <summary>Alertmanager's webhook payload (version 4): a group of alerts sharing a status and receiver.</summary>
public sealed record AlertmanagerPayload(
    string? Version,
    string? Receiver,
    string? Status,
    IReadOnlyList<AlertmanagerAlert>? Alerts);

/// <summary>One alert of a webhook payload.</summary>
public sealed record AlertmanagerAlert(
    string? Status,
    Dictionary<string, string>? Labels,
    Dictionary<string, string>? Annotations,
    DateTimeOffset? StartsAt,
    DateTimeOffset? EndsAt,
    string? Fingerprint);

/// <summary>One alert notification as Vigie keeps it: what fired or resolved, how bad, what to do.</summary>
public sealed record AlertNotification(
    string Fingerprint,
    string Status,
    string AlertName,
    string Severity,
    string? Summary,
    string? Description,
    string? RunbookUrl,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    string Receiver,
    DateTimeOffset ReceivedAt)
{
    /// <summary>Identity of one occurrence of an alert: resent notifications share it.</summary>
    [JsonIgnore]
    public (string Fingerprint, DateTimeOffset StartsAt) Key => (Fingerprint, StartsAt);

    [JsonIgnore]
    public bool IsFiring => Status == AlertStatus.Firing;

    /// <summary>
    /// The runbook link to offer: a path of this app (the rules link <c>/Runbook#alertname</c>, served by the app
    /// itself) or an absolute http(s) URL; null for anything else (a <c>javascript:</c> or protocol-relative URL).
    /// </summary>
    [JsonIgnore]
    public string? RunbookLink => RunbookUrl switch
    {
        ['/', not '/' and not '\\', ..] => RunbookUrl,
        _ when Uri.TryCreate(RunbookUrl, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" => url.ToString(),
        _ => null,
    };

    /// <summary>Sort rank: critical before warning before the rest.</summary>
    [JsonIgnore]
    public int SeverityRank => Severity switch { "critical" => 0, "warning" => 1, _ => 2 };
}

public static class AlertStatus
{
    public const string Firing = "firing";
    public const string Resolved = "resolved";
}

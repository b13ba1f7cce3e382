namespace Vigie.Web.Features.Alerts;

/// <summary>Validates a webhook payload and turns it into notifications; a payload with any invalid alert is refused whole.</summary>
public static class AlertPayloadReader
{
    public const int MaxAlertsPerPayload = 1000;
    private const int MaxTextLength = 4000;
    private const string NotStorable = "text must not contain NUL characters (\\u0000) or unpaired UTF-16 surrogates, which PostgreSQL cannot store";

    public static (IReadOnlyList<AlertNotification> Notifications, Dictionary<string, string[]> Errors) Read(AlertmanagerPayload? payload, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>();
        if (payload is null)
        {
            errors["body"] = ["A JSON body in Alertmanager's webhook format is required."];
            return ([], errors);
        }
        if (payload.Version != "4")
        {
            errors["version"] = [$"Only Alertmanager webhook payload version 4 is understood (got '{payload.Version}')."];
        }
        if (payload.Receiver is { } receiver && !IsStorable(receiver))
        {
            errors["receiver"] = [NotStorable];
        }
        if (payload.Alerts is not { Count: > 0 })
        {
            errors["alerts"] = ["The payload holds no alert."];
        }
        else if (payload.Alerts.Count > MaxAlertsPerPayload)
        {
            errors["alerts"] = [$"At most {MaxAlertsPerPayload} alerts per notification."];
        }
        if (errors.Count > 0)
        {
            return ([], errors);
        }

        var notifications = new List<AlertNotification>();
        for (var i = 0; i < payload.Alerts!.Count; i++)
        {
            var alert = payload.Alerts[i];
            var labels = alert.Labels ?? [];
            var annotations = alert.Annotations ?? [];
            var problems = new List<string>();
            if (alert.Status is not (AlertStatus.Firing or AlertStatus.Resolved))
            {
                problems.Add("status must be firing or resolved");
            }
            if (string.IsNullOrWhiteSpace(alert.Fingerprint) || alert.Fingerprint.Length > 64)
            {
                problems.Add("fingerprint is required (at most 64 characters)");
            }
            if (!labels.TryGetValue("alertname", out var name) || string.IsNullOrWhiteSpace(name))
            {
                problems.Add("labels.alertname is required");
            }
            if (alert.StartsAt is null || alert.StartsAt.Value.Year < 2000)
            {
                problems.Add("startsAt is required");
            }
            if (labels.Concat(annotations).Any(pair => pair.Key.Length > 200 || pair.Value.Length > MaxTextLength))
            {
                problems.Add($"labels and annotations are limited to {MaxTextLength} characters");
            }
            if (!IsStorable(alert.Fingerprint) || !IsStorable(alert.Status) || !labels.Concat(annotations).All(pair => IsStorable(pair.Key) && IsStorable(pair.Value)))
            {
                problems.Add(NotStorable);
            }
            if (problems.Count > 0)
            {
                errors[$"alerts[{i}]"] = [string.Join("; ", problems) + "."];
                continue;
            }
            notifications.Add(new AlertNotification(
                alert.Fingerprint!,
                alert.Status!,
                name!,
                labels.TryGetValue("severity", out var severity) && severity.Length > 0 ? severity : "none",
                annotations.GetValueOrDefault("summary"),
                annotations.GetValueOrDefault("description"),
                annotations.GetValueOrDefault("runbook_url") ?? annotations.GetValueOrDefault("runbook"),
                alert.StartsAt!.Value,
                alert.EndsAt is { Year: > 1 } ends ? ends : null,
                labels,
                annotations,
                payload.Receiver ?? "",
                now));
        }
        return errors.Count > 0 ? ([], errors) : (notifications, errors);
    }

    // PostgreSQL's text and jsonb refuse U+0000, and a lone surrogate has no UTF-8 form: refused here with a 400, they
    // would otherwise fail the insert after validation (a 500 Alertmanager would resend forever).
    private static bool IsStorable(string? text)
    {
        if (text is null)
        {
            return true;
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0' || char.IsLowSurrogate(c))
            {
                return false;
            }
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }
                i++;
            }
        }
        return true;
    }
}

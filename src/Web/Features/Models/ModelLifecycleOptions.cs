using System.ComponentModel.DataAnnotations;

namespace Vigie.Web.Features.Models;

/// <summary>The model lifecycle's settings (<c>Models:*</c>).</summary>
public sealed class ModelLifecycleOptions
{
    /// <summary>
    /// Seconds between checks of the registry's active and shadow versions. Changes normally arrive within a second
    /// through PostgreSQL LISTEN/NOTIFY; the poll is the fallback when a notification is lost or the listening
    /// connection is down.
    /// </summary>
    [Range(0.1, 3600)]
    public double PollIntervalSeconds { get; set; } = 5;

    /// <summary>Most recent feedback rows a retraining uses (older ones are left out).</summary>
    [Range(1, int.MaxValue)]
    public int MaxFeedbackRows { get; set; } = 100_000;

    /// <summary>Newest held-out feedback rows both models are evaluated on as "recent feedback".</summary>
    [Range(0, int.MaxValue)]
    public int RecentFeedbackRows { get; set; } = 200;

    /// <summary>Seconds between refreshes of the registry-derived gauges (candidate accuracy, shadow agreement, live accuracy).</summary>
    [Range(0.1, 3600)]
    public double StatsIntervalSeconds { get; set; } = 15;

    /// <summary>Newest versions (any status) whose accuracy, shadow and live results are published as metrics, beside the active one and the one in shadow.</summary>
    [Range(0, 1000)]
    public int PublishedVersions { get; set; } = 5;

    /// <summary>Predictions waiting for shadow scoring; beyond it new ones are not shadow-scored (and logged), never delayed.</summary>
    [Range(1, int.MaxValue)]
    public int ShadowQueueCapacity { get; set; } = 10_000;

    /// <summary>A training run whose instance has not reported for this many seconds is given up, so a crash never blocks retraining.</summary>
    [Range(1, 86400)]
    public double TrainingHeartbeatTimeoutSeconds { get; set; } = 60;
}

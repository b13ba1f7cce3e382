using System.ComponentModel.DataAnnotations;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Infrastructure.Telemetry;

namespace Vigie.Web.Features.Predictions;

/// <summary>How long predictions are kept (<c>Retention:*</c>, e.g. <c>Retention__PredictionDays=90</c>).</summary>
public sealed class RetentionOptions
{
    /// <summary>
    /// Days a prediction without feedback is kept; unset (the default) keeps every prediction. Every prediction is
    /// stored, so without a bound the table grows with the traffic for ever (a busy deployment adds tens of millions of
    /// rows a day); predictions with feedback are kept whatever this says, as the model registry trains on them.
    /// </summary>
    [Range(1, 36_500)]
    public int? PredictionDays { get; set; }

    /// <summary>
    /// Predictions examined (and at most deleted) per statement: each statement is short, so its locks and its WAL stay
    /// small and a concurrent insert or vacuum is never held up behind one huge delete.
    /// </summary>
    [Range(100, 100_000)]
    public int BatchSize { get; set; } = 5_000;

    /// <summary>Pause between two statements while there is a backlog: leaves the database's CPU and I/O to the traffic.</summary>
    [Range(0, 60_000)]
    public int PauseMilliseconds { get; set; } = 50;

    /// <summary>Seconds between rounds once nothing older than the retention is left.</summary>
    [Range(1, 86_400)]
    public int IntervalSeconds { get; set; } = 300;
}

/// <summary>
/// The retention loop: when <see cref="RetentionOptions.PredictionDays"/> is set, deletes the predictions older than
/// that (feedback rows excepted) in bounded steps through <see cref="PredictionStore"/>, the table's owner, and counts
/// them in <c>vigie_retention_deleted_predictions_total</c> (the Database dashboard shows it beside the table's size).
/// Several instances may run it at once: each step deletes what is still there.
/// </summary>
internal sealed class PredictionRetention(PredictionStore store, RetentionOptions options, DatabaseStatus database, BackgroundLoops loops,
    VigieMetrics metrics, ILogger<PredictionRetention> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.PredictionDays is not { } days)
        {
            return;
        }
        logger.LogInformation("Retention: predictions without feedback are deleted after {Days} days", days);
        var backoff = BackgroundLoops.NewBackoff();
        long after = 0;
        try
        {
            await database.WhenMigrated.WaitAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                TimeSpan delay;
                try
                {
                    var step = await store.DeleteExpiredAsync(days, options.BatchSize, after, stoppingToken);
                    metrics.RecordRetentionDeleted(step.Deleted);
                    after = step.ContinueAfter;
                    backoff.Reset();
                    delay = step.ReachedRetained ? TimeSpan.FromSeconds(options.IntervalSeconds) : TimeSpan.FromMilliseconds(options.PauseMilliseconds);
                }
                catch (DatabaseUnavailableException ex)
                {
                    logger.LogDebug("Retention step skipped: {Reason}", ex.Message);
                    delay = backoff.Failed();
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    loops.Failed("prediction_retention", ex, logger);
                    delay = backoff.Failed();
                }
                await Task.Delay(delay, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

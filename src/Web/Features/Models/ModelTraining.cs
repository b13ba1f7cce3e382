using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Dapper;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Models;

/// <summary>Result of asking for a retraining run.</summary>
public abstract record TrainingRequestOutcome
{
    /// <summary>Queued; <see cref="ModelTrainingWorker"/> runs it off the request path.</summary>
    public sealed record Accepted(TrainingRunView Run) : TrainingRequestOutcome;

    /// <summary>Another run (on this or another instance) is queued or running; nothing was queued.</summary>
    public sealed record AlreadyRunning(TrainingRunView? Run) : TrainingRequestOutcome;
}

/// <summary>
/// Retraining runs: requests are recorded in <c>model_training_runs</c>, whose partial unique index admits one queued
/// or running run across every instance, and handed to this instance's <see cref="ModelTrainingWorker"/> through a
/// channel. Progress is the row's status and stage, so any instance can report it.
/// </summary>
public sealed class ModelTraining(VigieDatabase database, ModelLifecycleOptions options)
{
    private const string Columns = "id, status, stage, instance, requested_at, started_at, finished_at, candidate_version, outcome, error";

    private readonly Channel<long> _queue = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>This instance's name in <c>model_training_runs.instance</c>.</summary>
    public string Instance { get; } = $"{Environment.MachineName}/{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";

    internal ChannelReader<long> Queue => _queue.Reader;

    /// <summary>Queues a run unless one is queued or running; a run whose instance stopped reporting is given up first.</summary>
    public async Task<TrainingRequestOutcome> RequestAsync(CancellationToken cancellationToken)
    {
        var (run, current) = await database.RunAsync("training_run", async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE model_training_runs
                SET status = 'failed', stage = 'abandoned', finished_at = now(),
                    error = 'The instance running it stopped reporting progress.'
                WHERE status IN ('queued', 'running') AND heartbeat_at < now() - make_interval(secs => @timeout)
                """, new { timeout = options.TrainingHeartbeatTimeoutSeconds }, transaction, cancellationToken: cancellationToken));
            // A concurrent request waits here for the other's commit, then finds the index taken.
            var inserted = await connection.QuerySingleOrDefaultAsync<RunRow>(new CommandDefinition($"""
                INSERT INTO model_training_runs (status, stage, instance) VALUES ('queued', 'queued', @Instance)
                ON CONFLICT DO NOTHING
                RETURNING {Columns}
                """, new { Instance }, transaction, cancellationToken: cancellationToken));
            var running = inserted is null
                ? await connection.QuerySingleOrDefaultAsync<RunRow>(new CommandDefinition(
                    $"SELECT {Columns} FROM model_training_runs WHERE status IN ('queued', 'running')", transaction: transaction, cancellationToken: cancellationToken))
                : null;
            await transaction.CommitAsync(cancellationToken);
            return (inserted, running);
        }, cancellationToken);
        if (run is null)
        {
            return new TrainingRequestOutcome.AlreadyRunning(current?.ToView());
        }
        _queue.Writer.TryWrite(run.id);
        return new TrainingRequestOutcome.Accepted(run.ToView());
    }

    /// <summary>The newest run, or null when there has been none.</summary>
    public Task<TrainingRunView?> LatestAsync(CancellationToken cancellationToken) =>
        database.RunAsync("training_run", async connection => (await connection.QuerySingleOrDefaultAsync<RunRow>(new CommandDefinition(
            $"SELECT {Columns} FROM model_training_runs ORDER BY id DESC LIMIT 1", cancellationToken: cancellationToken)))?.ToView(), cancellationToken);

    public Task<TrainingRunView?> FindAsync(long id, CancellationToken cancellationToken) =>
        database.RunAsync("training_run", async connection => (await connection.QuerySingleOrDefaultAsync<RunRow>(new CommandDefinition(
            $"SELECT {Columns} FROM model_training_runs WHERE id = @id", new { id }, cancellationToken: cancellationToken)))?.ToView(), cancellationToken);

    internal Task<int> UpdateAsync(long id, string stage, bool started, CancellationToken cancellationToken) =>
        database.RunAsync("training_run", connection => connection.ExecuteAsync(new CommandDefinition("""
            UPDATE model_training_runs
            SET status = 'running', stage = @stage, heartbeat_at = now(), started_at = CASE WHEN @started THEN now() ELSE started_at END
            WHERE id = @id
            """, new { id, stage, started }, cancellationToken: cancellationToken)), cancellationToken);

    internal Task<int> HeartbeatAsync(long id, CancellationToken cancellationToken) =>
        database.RunAsync("training_run", connection => connection.ExecuteAsync(new CommandDefinition(
            "UPDATE model_training_runs SET heartbeat_at = now() WHERE id = @id AND status = 'running'", new { id }, cancellationToken: cancellationToken)), cancellationToken);

    internal Task<int> FinishAsync(long id, string? outcome, string? candidateVersion, string? error, CancellationToken cancellationToken) =>
        database.RunAsync("training_run", connection => connection.ExecuteAsync(new CommandDefinition("""
            UPDATE model_training_runs
            SET status = CASE WHEN @error IS NULL THEN 'succeeded' ELSE 'failed' END,
                stage = CASE WHEN @error IS NULL THEN 'done' ELSE 'failed' END,
                outcome = @outcome, candidate_version = @candidateVersion, error = @error,
                started_at = coalesce(started_at, now()), finished_at = now(), heartbeat_at = now()
            WHERE id = @id
            """, new { id, outcome, candidateVersion, error }, cancellationToken: cancellationToken)), cancellationToken);

#pragma warning disable IDE1006, CA1707 // mirrors the column names so Dapper maps them without configuration
    private sealed class RunRow
    {
        public long id { get; set; }
        public string status { get; set; } = "";
        public string stage { get; set; } = "";
        public string instance { get; set; } = "";
        public DateTime requested_at { get; set; }
        public DateTime? started_at { get; set; }
        public DateTime? finished_at { get; set; }
        public string? candidate_version { get; set; }
        public string? outcome { get; set; }
        public string? error { get; set; }

        public TrainingRunView ToView() => new(id, status, stage, instance, Utc(requested_at), started_at is { } s ? Utc(s) : null,
            finished_at is { } f ? Utc(f) : null, candidate_version, outcome, error);

        private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
    }
#pragma warning restore IDE1006, CA1707
}

/// <summary>
/// Runs the queued retraining runs of this instance, one at a time, off the request path: loads the feedback, trains a
/// candidate on base data + feedback, evaluates it and the active model on the same held-out rows and recent
/// feedback, and registers it with both results side by side.
/// </summary>
public sealed class ModelTrainingWorker(
    ModelTraining training,
    ModelRegistryStore store,
    PredictionStore predictions,
    ModelHolder holder,
    PenguinDataSet data,
    ModelLifecycleOptions options,
    VigieMetrics metrics,
    BackgroundLoops loops,
    ILogger<ModelTrainingWorker> logger) : BackgroundService
{
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var id in training.Queue.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await RunAsync(id, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // The run itself is recorded as failed (or given up once its heartbeat is old); the next run is taken.
                    loops.Failed("model_training", ex, logger);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunAsync(long id, CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var heartbeat = HeartbeatAsync(id, done.Token);
        try
        {
            await training.UpdateAsync(id, "loading feedback", started: true, stoppingToken);
            var active = holder.RequireActive();
            var feedback = await predictions.FeedbackAsync(options.MaxFeedbackRows, stoppingToken);
            await training.UpdateAsync(id, string.Create(CultureInfo.InvariantCulture, $"training on the base data and {feedback.Count} feedback rows"), started: false, stoppingToken);
            var candidate = await Task.Run(() => FeedbackTraining.Train(data, feedback, active.Version, options.RecentFeedbackRows), stoppingToken);

            await training.UpdateAsync(id, $"evaluating {candidate.Model.Version} against {active.Version}", started: false, stoppingToken);
            var comparison = await Task.Run(() => Compare(candidate, active), stoppingToken);

            await training.UpdateAsync(id, "registering", started: false, stoppingToken);
            var registered = await store.RegisterCandidateAsync(candidate, comparison, stoppingToken);
            var outcome = registered ? "registered" : "unchanged";
            await training.FinishAsync(id, outcome, candidate.Model.Version, null, stoppingToken);
            metrics.RecordTrainingRun(outcome, Stopwatch.GetElapsedTime(started).TotalSeconds);
            logger.LogInformation(
                "Training run {RunId}: {Outcome} candidate {ModelVersion} ({FeedbackRows} feedback rows up to prediction {UpTo}); held-out accuracy {Accuracy:F3} vs {ActiveAccuracy:F3} for active {ActiveVersion}",
                id, outcome, candidate.Model.Version, candidate.Lineage.FeedbackTrainingRows, candidate.Lineage.FeedbackUpToPredictionId,
                comparison.HeldOut.Candidate.Accuracy, comparison.HeldOut.Active.Accuracy, active.Version);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            metrics.RecordTrainingRun("failed", Stopwatch.GetElapsedTime(started).TotalSeconds);
            logger.LogError(ex, "Training run {RunId} failed", id);
            try
            {
                await training.FinishAsync(id, null, null, ex.Message, stoppingToken);
            }
            catch (Exception finishFailed) when (!stoppingToken.IsCancellationRequested)
            {
                // The run is given up by the next request once its heartbeat is old.
                logger.LogWarning("Training run {RunId}: its failure could not be recorded ({Reason})", id, finishFailed.Message);
            }
        }
        finally
        {
            await done.CancelAsync();
            await heartbeat;
        }
    }

    /// <summary>The active model on the candidate's evidence: the same held-out rows and the same recent feedback.</summary>
    internal static ModelComparison Compare(TrainedCandidate candidate, ServingModel active)
    {
        var heldOut = new EvaluationPair(candidate.HeldOut, ModelEvaluator.Evaluate(active.Trained.Transformer, candidate.HeldOutRows)!);
        var recentCandidate = ModelEvaluator.Evaluate(candidate.Model.Transformer, candidate.RecentFeedbackRows);
        var recentActive = ModelEvaluator.Evaluate(active.Trained.Transformer, candidate.RecentFeedbackRows);
        return new ModelComparison(active.Version, heldOut,
            recentCandidate is null || recentActive is null ? null : new EvaluationPair(recentCandidate, recentActive));
    }

    private async Task HeartbeatAsync(long id, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(HeartbeatInterval, cancellationToken);
                try
                {
                    await training.HeartbeatAsync(id, cancellationToken);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    logger.LogWarning("Training run {RunId}: heartbeat failed ({Reason})", id, ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

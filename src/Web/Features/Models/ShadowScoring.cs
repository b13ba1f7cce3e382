using System.Threading.Channels;
using Dapper;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Models;

/// <summary>
/// A stored prediction (or a whole stored batch) waiting to be scored by <paramref name="Shadow"/>, the model that was in
/// shadow when it was made: a promotion or a new shadow a moment later does not lose or reassign it.
/// </summary>
internal readonly record struct ShadowWork(long PredictionId, Measurements Measurements, string ServedSpecies, Guid? BatchId, ServingModel Shadow);

/// <summary>
/// The hot-path side of shadow scoring. It listens to Predictions (<see cref="IPredictionStoredListener"/>): after a prediction is stored, <see cref="PredictionStored"/> costs one volatile read
/// when no model is in shadow, and a non-blocking write to a bounded queue when one is: the answer, and the time it
/// takes, do not depend on the shadow model. <see cref="ShadowScoringWorker"/> scores the queue in the background.
/// </summary>
public sealed class ShadowScorer : IPredictionStoredListener
{
    private readonly ModelHolder _holder;
    private readonly ILogger<ShadowScorer> _logger;
    private readonly VigieMetrics _metrics;
    private readonly Channel<ShadowWork> _queue;
    private long _dropped;

    public ShadowScorer(ModelHolder holder, ModelLifecycleOptions options, VigieMetrics metrics, ILogger<ShadowScorer> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _holder = holder;
        _logger = logger;
        _metrics = metrics;
        _queue = Channel.CreateBounded<ShadowWork>(new BoundedChannelOptions(options.ShadowQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
    }

    internal ChannelReader<ShadowWork> Queue => _queue.Reader;

    /// <summary>Queues a stored prediction for the shadow model, if one is in shadow. Never blocks.</summary>
    public void PredictionStored(long predictionId, Measurements measurements, string servedSpecies)
    {
        if (_holder.Shadow is { } shadow)
        {
            Write(new ShadowWork(predictionId, measurements, servedSpecies, null, shadow));
        }
    }

    /// <summary>Queues every prediction of a stored batch for the shadow model, if one is in shadow.</summary>
    public void BatchStored(Guid batchId)
    {
        if (_holder.Shadow is { } shadow)
        {
            Write(new ShadowWork(0, default, string.Empty, batchId, shadow));
        }
    }

    private void Write(ShadowWork work)
    {
        if (!_queue.Writer.TryWrite(work))
        {
            // Shadow scoring fell behind: skip rather than slow the answer; count it, and say so now and then.
            _metrics.RecordShadowSkipped();
            var dropped = Interlocked.Increment(ref _dropped);
            if (dropped == 1 || dropped % 1000 == 0)
            {
                _logger.LogWarning("Shadow scoring queue full: {Dropped} predictions not shadow-scored so far", dropped);
            }
        }
    }
}

/// <summary>
/// Scores queued predictions with the model in shadow, in batches (up to 500 rows or 200 ms), and records them in
/// <c>shadow_predictions</c> with one statement per batch, counting agreement with the answer that was given.
/// </summary>
public sealed class ShadowScoringWorker(ShadowScorer scorer, PredictionStore predictions, VigieDatabase database, VigieMetrics metrics, BackgroundLoops loops, ILogger<ShadowScoringWorker> logger) : BackgroundService
{
    private const int MaxBatch = 500;
    private const string Loop = "shadow_scoring";
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(200);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = scorer.Queue;
        var pending = new List<ShadowWork>(MaxBatch);
        var backoff = BackgroundLoops.NewBackoff();
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                Drain(reader, pending);
                if (pending.Count < MaxBatch)
                {
                    // Let a burst gather into one statement.
                    await Task.Delay(Window, stoppingToken);
                    Drain(reader, pending);
                }
                var delay = TimeSpan.Zero;
                try
                {
                    await ScoreAsync(pending, stoppingToken);
                    backoff.Reset();
                }
                catch (DatabaseUnavailableException ex)
                {
                    logger.LogWarning("Shadow scores of {Count} predictions not recorded: {Reason}", pending.Count, ex.Message);
                    delay = backoff.Failed();
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // One bad batch is given up (shadow scores are a sample, never an answer): the next one is scored.
                    logger.LogWarning("Shadow scores of {Count} predictions not recorded", pending.Count);
                    loops.Failed(Loop, ex, logger);
                    delay = backoff.Failed();
                }
                pending.Clear();
                await Task.Delay(delay, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static void Drain(ChannelReader<ShadowWork> reader, List<ShadowWork> pending)
    {
        while (pending.Count < MaxBatch && reader.TryRead(out var work))
        {
            pending.Add(work);
        }
    }

    private async Task ScoreAsync(List<ShadowWork> pending, CancellationToken cancellationToken)
    {
        // Each prediction is scored by the model that was in shadow when it was made.
        foreach (var group in pending.GroupBy(work => work.Shadow))
        {
            var shadow = group.Key;
            var rows = new List<(long Id, Measurements Measurements, string Served)>();
            foreach (var work in group)
            {
                if (work.BatchId is { } batchId)
                {
                    rows.AddRange(await predictions.BatchInputsAsync(batchId, cancellationToken));
                }
                else
                {
                    rows.Add((work.PredictionId, work.Measurements, work.ServedSpecies));
                }
            }
            if (rows.Count == 0)
            {
                continue;
            }
            var ids = new long[rows.Count];
            var species = new string[rows.Count];
            var confidence = new double[rows.Count];
            var agreed = 0;
            for (var i = 0; i < rows.Count; i++)
            {
                var result = shadow.Model.Predict(rows[i].Measurements);
                ids[i] = rows[i].Id;
                species[i] = result.Species;
                confidence[i] = result.Confidence;
                agreed += result.Species == rows[i].Served ? 1 : 0;
            }
            await database.RunAsync("insert_shadow", connection => connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO shadow_predictions (prediction_id, version, species, confidence)
                SELECT id, @version, species, confidence FROM unnest(@ids, @species, @confidence) AS t(id, species, confidence)
                ON CONFLICT DO NOTHING
                """, new { version = shadow.Version, ids, species, confidence }, cancellationToken: cancellationToken)), cancellationToken);
            metrics.RecordShadowPredictions(shadow.Version, agreed, rows.Count - agreed);
        }
    }
}

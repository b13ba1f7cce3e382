using System.Threading.Channels;
using Npgsql;
using Vigie.Web.Infrastructure.Database;

namespace Vigie.Web.Features.Predictions;

/// <summary>
/// Group insert of single predictions (form and API). The predictions that arrive while a writer's previous statement
/// runs are written together: one multi-row INSERT, one round trip, one commit and WAL flush for the group. Each
/// caller's task completes only once its row is committed, with the id PostgreSQL gave it, so every 201 still follows
/// the commit of its own prediction; a failed statement fails every caller of its group (503 when the database is
/// unavailable). PostgreSQL's per-statement work (executor start-up, the table's CHECK expressions, commit) is then
/// paid once per group: for 16 rows, about a sixth of its CPU per row of single-row inserts (pgbench, durable cluster).
/// Under light load a group is one prediction, at the cost of one hand-over between tasks.
/// <para>
/// The queue is bounded (<c>Database:PredictionQueueCapacity</c>): beyond it a prediction is refused at once with
/// <see cref="PredictionQueueFullException"/> (503). While the probe knows the database is unreachable, a prediction
/// is refused at once (<see cref="DatabaseUnavailableException"/>, 503) rather than queued behind connection attempts
/// that each wait for the connect timeout; so is a queued group whose turn comes during the outage.
/// </para>
/// </summary>
public sealed class PredictionWriter : IAsyncDisposable
{
    /// <summary>Largest group written by one statement.</summary>
    public const int MaxGroup = 64;

    // One statement for every group size, so the data source prepares it once per connection. unnest yields the rows
    // in array order and the identity column numbers them in that order: sorted ids map back to the group's order.
    private static readonly string InsertSql = $"""
        INSERT INTO predictions ({PredictionStore.InsertColumns})
        SELECT * FROM unnest({string.Join(", ", PredictionStore.ValueTypes().Select((type, i) => $"${i + 1}::{type}"))})
        RETURNING id, created_at
        """;

    private const string Operation = "insert_prediction";

    private readonly VigieDatabase _database;
    private readonly DatabaseStatus _status;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { AllowSynchronousContinuations = false });
    private readonly Task[] _writers;
    // Predictions queued and not yet taken by a writer. Counted beside the lock-free unbounded channel rather than with
    // a bounded channel, whose every write and read takes a lock on the hot path.
    private int _waiting;

    public PredictionWriter(VigieDatabase database, DatabaseStatus status, DatabaseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _database = database;
        _status = status;
        Capacity = Math.Max(1, options.PredictionQueueCapacity);
        // Database:PredictionWriters statements in flight at once (one by default: see the option for why).
        _writers = Enumerable.Range(0, options.PredictionWriters).Select(_ => Task.Run(WriteAsync)).ToArray();
    }

    /// <summary>How many predictions may wait for the group insert at once.</summary>
    public int Capacity { get; }

    /// <summary>
    /// Stores <paramref name="prediction"/>; completes once it is committed, with its id and creation time. Throws at
    /// once when the database is known to be unreachable or the queue is full.
    /// </summary>
    public Task<(long Id, DateTimeOffset CreatedAt)> InsertAsync(NewPrediction prediction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        _status.ThrowIfUnavailable(Operation);
        if (Interlocked.Increment(ref _waiting) > Capacity)
        {
            Interlocked.Decrement(ref _waiting);
            throw new PredictionQueueFullException(Capacity);
        }
        var pending = new Pending(prediction, cancellationToken);
        if (!_queue.Writer.TryWrite(pending))
        {
            Interlocked.Decrement(ref _waiting);
            throw new ObjectDisposedException(nameof(PredictionWriter), "The app is stopping.");
        }
        return pending.Completion.Task;
    }

    private async Task WriteAsync()
    {
        var reader = _queue.Reader;
        var group = new List<Pending>(MaxGroup);
        while (await reader.WaitToReadAsync())
        {
            group.Clear();
            while (group.Count < MaxGroup && reader.TryRead(out var pending))
            {
                Interlocked.Decrement(ref _waiting);
                // A request given up before its turn is not written; once taken, a prediction is written whatever happens to its request.
                if (pending.Cancellation.IsCancellationRequested)
                {
                    pending.Completion.TrySetCanceled(pending.Cancellation);
                }
                else
                {
                    group.Add(pending);
                }
            }
            if (group.Count == 0)
            {
                continue;
            }
            try
            {
                // Queued before the probe noticed an outage: refused now rather than after a connect timeout.
                _status.ThrowIfUnavailable(Operation);
                var stored = await _database.RunAsync(Operation, connection => InsertAsync(connection, group), CancellationToken.None);
                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Completion.TrySetResult(stored[i]);
                }
            }
            catch (Exception ex)
            {
                foreach (var pending in group)
                {
                    pending.Completion.TrySetException(ex);
                }
            }
        }
    }

    private static async Task<List<(long Id, DateTimeOffset CreatedAt)>> InsertAsync(NpgsqlConnection connection, List<Pending> group)
    {
        var n = group.Count;
        await using var command = new NpgsqlCommand(InsertSql, connection);
        command.Parameters.AddRange(PredictionStore.Values(group.ConvertAll(p => p.Prediction)).ToArray());
        var stored = new List<(long Id, DateTimeOffset CreatedAt)>(n);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stored.Add((reader.GetInt64(0), new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc))));
            }
        }
        if (stored.Count != n)
        {
            throw new InvalidOperationException($"INSERT of {n} predictions returned {stored.Count} rows.");
        }
        stored.Sort((a, b) => a.Id.CompareTo(b.Id));
        return stored;
    }

    /// <summary>Stops taking predictions and waits until the queued ones are written.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_writers);
    }

    private sealed class Pending(NewPrediction prediction, CancellationToken cancellation)
    {
        public NewPrediction Prediction { get; } = prediction;
        public CancellationToken Cancellation { get; } = cancellation;
        public TaskCompletionSource<(long Id, DateTimeOffset CreatedAt)> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>The group insert's queue is full (<c>Database:PredictionQueueCapacity</c>): the prediction was refused, not stored; answered 503.</summary>
public sealed class PredictionQueueFullException(int capacity)
    : Exception($"{capacity} predictions are already waiting to be stored; nothing was stored.")
{
    public int Capacity { get; } = capacity;
}

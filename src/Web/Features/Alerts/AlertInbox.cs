using System.Collections.Concurrent;
using System.Collections.Immutable;
using Vigie.Metrics;
using Vigie.Web.Infrastructure.Database;

namespace Vigie.Web.Features.Alerts;

/// <summary>
/// Vigie's alert inbox. The alert that matters most, "database down", arrives exactly when notifications cannot be
/// stored, so the inbox holds what it receives in memory first — the Alerts page and the status strip read from
/// here — and <see cref="AlertFlusher"/> writes it to PostgreSQL as soon as the database answers. Nothing received
/// is lost while the database is away, and storing is idempotent, so a retry never duplicates a row.
/// </summary>
public sealed class AlertInbox(VigieMetrics metrics, ILogger<AlertInbox> logger) : IDisposable
{
    private static readonly HashSet<string> KnownSeverities = ["critical", "warning", "info", "none"];

    private readonly ConcurrentQueue<AlertNotification> _pending = new();
    private ImmutableDictionary<(string, DateTimeOffset), AlertNotification> _firing = ImmutableDictionary<(string, DateTimeOffset), AlertNotification>.Empty;
    private readonly SemaphoreSlim _flushSignal = new(0);

    /// <summary>Alerts firing now, most severe and most recent first.</summary>
    public IReadOnlyList<AlertNotification> Firing =>
        Volatile.Read(ref _firing).Values.OrderBy(a => a.SeverityRank).ThenByDescending(a => a.StartsAt).ToList();

    /// <summary>Notifications received but not yet stored (the database was unavailable).</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Takes notifications in: the firing set changes at once, storage follows.</summary>
    public void Receive(IReadOnlyList<AlertNotification> notifications)
    {
        ArgumentNullException.ThrowIfNull(notifications);
        foreach (var n in notifications)
        {
            _pending.Enqueue(n);
            ImmutableInterlocked.Update(ref _firing, firing => n.IsFiring ? firing.SetItem(n.Key, n) : firing.Remove(n.Key));
            metrics.AlertNotifications.WithLabels(n.Status, KnownSeverities.Contains(n.Severity) ? n.Severity : "other").Inc();
            logger.LogWarning("Alert {AlertName} {AlertStatus} (severity {Severity}, since {StartsAt:o}): {Summary}",
                n.AlertName, n.Status, n.Severity, n.StartsAt, n.Summary);
        }
        _flushSignal.Release();
    }

    /// <summary>Takes every pending notification out, to be stored.</summary>
    internal List<AlertNotification> DrainPending()
    {
        var drained = new List<AlertNotification>();
        while (_pending.TryDequeue(out var n))
        {
            drained.Add(n);
        }
        return drained;
    }

    /// <summary>Puts back notifications that could not be stored.</summary>
    internal void Requeue(IEnumerable<AlertNotification> notifications)
    {
        foreach (var n in notifications)
        {
            _pending.Enqueue(n);
        }
    }

    /// <summary>Replaces the firing set with the database's view plus what is still pending, after a successful store.</summary>
    internal void Refresh(IReadOnlyList<AlertNotification> storedFiring)
    {
        var pending = _pending.ToArray();
        var firing = storedFiring.ToDictionary(a => a.Key);
        foreach (var n in pending)
        {
            if (n.IsFiring)
            {
                firing[n.Key] = n;
            }
            else
            {
                firing.Remove(n.Key);
            }
        }
        Volatile.Write(ref _firing, firing.ToImmutableDictionary());
    }

    internal Task WaitForWorkAsync(TimeSpan timeout, CancellationToken cancellationToken) => _flushSignal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _flushSignal.Dispose();
}

/// <summary>Stores the inbox's pending notifications whenever the database answers, and keeps its firing set in step with the table.</summary>
internal sealed class AlertFlusher(AlertInbox inbox, AlertStore store, DatabaseStatus database, ILogger<AlertFlusher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await inbox.WaitForWorkAsync(TimeSpan.FromSeconds(5), stoppingToken);
            if (!database.Migrated)
            {
                continue;
            }
            var batch = inbox.DrainPending();
            try
            {
                if (batch.Count > 0)
                {
                    var stored = await store.InsertAsync(batch, stoppingToken);
                    logger.LogInformation("Stored {Stored} alert notifications ({Duplicates} already stored)", stored, batch.Count - stored);
                }
                inbox.Refresh(await store.FiringAsync(stoppingToken));
            }
            catch (DatabaseUnavailableException ex)
            {
                inbox.Requeue(batch);
                logger.LogWarning("Alert notifications kept in memory until the database answers ({Pending} pending): {Reason}", inbox.PendingCount, ex.InnerException?.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            }
        }
    }
}

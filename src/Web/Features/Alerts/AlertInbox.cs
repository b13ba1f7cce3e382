using System.Collections.Immutable;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.Hosting;

namespace Vigie.Web.Features.Alerts;

/// <summary>
/// Vigie's alert inbox. A notification is acknowledged only once it is stored: <see cref="ReceiveAsync"/> writes it to
/// PostgreSQL before Alertmanager gets its 200, and fails (503) when the database is known to be unreachable or the
/// write fails — Alertmanager then sends it again (it retries a webhook answered 5xx), so a restart or an outage loses
/// nothing, and a <c>resolved</c> cannot vanish and leave an alert firing forever.
/// <para>
/// The firing set is also kept in memory, for the status strip and for the Alerts page while the database is away
/// (the alert that matters most, "database down", arrives exactly then): a notification changes it on arrival, even
/// when it could not be stored yet, and <see cref="FiringAlertsRefresher"/> replaces it with the table's view at
/// start-up and every few seconds, which also brings in what other instances stored.
/// </para>
/// </summary>
public sealed class AlertInbox(AlertStore store, DatabaseStatus database, VigieMetrics metrics, ILogger<AlertInbox> logger)
{
    private static readonly HashSet<string> KnownSeverities = ["critical", "warning", "info", "none"];

    private ImmutableDictionary<(string, DateTimeOffset), AlertNotification> _firing = ImmutableDictionary<(string, DateTimeOffset), AlertNotification>.Empty;
    private long _generation;

    /// <summary>Alerts firing now as last known in memory, most severe and most recent first.</summary>
    public IReadOnlyList<AlertNotification> Firing => Sorted(Volatile.Read(ref _firing).Values);

    /// <summary>
    /// Takes notifications in: the firing set changes at once, then they are stored. Completes only once they are
    /// committed; throws <see cref="DatabaseUnavailableException"/> (503) when they could not be, without waiting for a
    /// connection timeout when the probe already knows the database is unreachable.
    /// </summary>
    public async Task<int> ReceiveAsync(IReadOnlyList<AlertNotification> notifications, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notifications);
        Interlocked.Increment(ref _generation);
        foreach (var n in notifications)
        {
            ImmutableInterlocked.Update(ref _firing, firing => n.IsFiring ? firing.SetItem(n.Key, n) : firing.Remove(n.Key));
            logger.LogWarning("Alert {AlertName} {AlertStatus} (severity {Severity}, since {StartsAt:o}): {Summary}",
                n.AlertName, n.Status, n.Severity, n.StartsAt, n.Summary);
        }
        database.ThrowIfUnavailable("insert_alerts");
        var stored = await store.InsertAsync(notifications, cancellationToken);
        // Counted once acknowledged: a delivery refused with 503 comes again and is counted then.
        foreach (var n in notifications)
        {
            metrics.RecordAlertNotification(n.Status, KnownSeverities.Contains(n.Severity) ? n.Severity : "other");
        }
        return stored;
    }

    /// <summary>Alerts firing now: read from the table (and the memory brought up to date), or from memory while the database is unavailable.</summary>
    public async Task<(IReadOnlyList<AlertNotification> Firing, bool Stored)> FiringNowAsync(CancellationToken cancellationToken)
    {
        try
        {
            database.ThrowIfUnavailable("list_alerts");
            var generation = Interlocked.Read(ref _generation);
            var stored = await store.FiringAsync(cancellationToken);
            Refresh(stored, generation);
            return (Sorted(stored), true);
        }
        catch (DatabaseUnavailableException)
        {
            return (Firing, false);
        }
    }

    /// <summary>
    /// Replaces the firing set with the table's view, read after <paramref name="generation"/>; skipped when a
    /// notification arrived meanwhile (the view may predate it), the next refresh then takes it in.
    /// </summary>
    internal void Refresh(IReadOnlyList<AlertNotification> storedFiring, long generation)
    {
        var firing = storedFiring.ToImmutableDictionary(a => a.Key);
        // Read before the generation check: a notification applied after it makes the exchange fail.
        var current = Volatile.Read(ref _firing);
        if (Interlocked.Read(ref _generation) == generation)
        {
            Interlocked.CompareExchange(ref _firing, firing, current);
        }
    }

    internal long Generation => Interlocked.Read(ref _generation);

    private static List<AlertNotification> Sorted(IEnumerable<AlertNotification> alerts) =>
        alerts.OrderBy(a => a.SeverityRank).ThenByDescending(a => a.StartsAt).ToList();
}

/// <summary>
/// Reads the firing set from <c>alert_notifications</c> into the inbox once the schema is migrated (so a restart shows
/// what fires at once) and every few seconds after (so what another instance received shows here too).
/// </summary>
internal sealed class FiringAlertsRefresher(AlertInbox inbox, AlertStore store, DatabaseStatus database, BackgroundLoops loops, ILogger<FiringAlertsRefresher> logger) : BackgroundService
{
    /// <summary>How stale the in-memory firing set may be against the table (another instance's notifications).</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = BackgroundLoops.NewBackoff();
        try
        {
            await database.WhenMigrated.WaitAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                var delay = Interval;
                try
                {
                    var generation = inbox.Generation;
                    inbox.Refresh(await store.FiringAsync(stoppingToken), generation);
                    backoff.Reset();
                }
                catch (DatabaseUnavailableException ex)
                {
                    logger.LogDebug("Firing alerts not refreshed: {Reason}", ex.Message);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    loops.Failed("alert_refresher", ex, logger);
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

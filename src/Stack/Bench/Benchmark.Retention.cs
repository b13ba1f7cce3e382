using System.Globalization;
using System.Text;

namespace Vigie.Stack.Bench;

/// <summary>
/// The retention under load: POST /api/predictions on the main instance, in rounds without and with the retention
/// running on the same database (a second instance started with <c>Retention__PredictionDays</c> while predictions
/// older than that wait to be deleted: the catch-up after turning it on, its heaviest case), in ABBA order. The p99 of
/// the two kinds of rounds is compared; the deletions made during each loaded round are read from that instance's
/// own counter.
/// </summary>
public static partial class Benchmark
{
    /// <summary>Paired rounds (with = retention deleting meanwhile) and the predictions deleted during the loaded runs.</summary>
    private sealed record RetentionRounds(PairedRounds Rounds, long Deleted, double LoadedSeconds, long Expired, int Days);

    private const int RetentionDays = 15;

    private static async Task<RetentionRounds> MeasureRetentionAsync(Session session)
    {
        var (options, console, token) = (session.Options, session.Console, session.CancellationToken);
        var database = session.Stack.Database.AdminConnectionString;
        await FillPredictionsAsync(database, options.HistoryRows, console, token);
        var expired = await ScalarAsync(database,
            $"SELECT count(*) FROM predictions WHERE created_at < now() - interval '{RetentionDays} days' AND actual_species IS NULL", token);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Retention under load: {expired:N0} predictions older than {RetentionDays} days to delete; POST load without and with the retention running:"));
        var rounds = new PairedRounds([], []);
        long deleted = 0;
        double loaded = 0;
        for (var round = 1; round <= Math.Max(1, options.OverheadRounds / 2 + 1); round++)
        {
            Run? with = null, without = null;
            foreach (var retaining in round % 2 == 1 ? new[] { false, true } : [true, false])
            {
                if (!retaining)
                {
                    without = await session.MeasureAsync($"POST /api/predictions, no retention (round {round})", new Uri(session.Web, "/api/predictions"), "post-prediction.lua", session.Duration, session.Stack.App.Id);
                    continue;
                }
                var metricsPort = FreePort.Next();
                var retention = await session.Stack.StartAppAsync($"web-retention-{round}", FreePort.Next(), metricsPort, new Dictionary<string, string>
                {
                    ["Retention__PredictionDays"] = RetentionDays.ToString(CultureInfo.InvariantCulture),
                }, token);
                try
                {
                    var sidecar = new Uri($"http://127.0.0.1:{metricsPort.ToString(CultureInfo.InvariantCulture)}/metrics");
                    var before = await DeletedByRetentionAsync(sidecar, token);
                    with = await session.MeasureAsync($"POST /api/predictions, retention deleting (round {round})", new Uri(session.Web, "/api/predictions"), "post-prediction.lua", session.Duration, session.Stack.App.Id);
                    var during = await DeletedByRetentionAsync(sidecar, token) - before;
                    (deleted, loaded) = (deleted + during, loaded + with.Wrk.DurationSeconds);
                    console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    the retention deleted {during:N0} predictions during the run"));
                }
                finally
                {
                    retention.Dispose();
                }
            }
            rounds.With.Add(with!);
            rounds.Without.Add(without!);
        }
        return new RetentionRounds(rounds, deleted, loaded, expired, RetentionDays);
    }

    private static async Task<long> DeletedByRetentionAsync(Uri sidecar, CancellationToken token)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var line = (await http.GetStringAsync(sidecar, token)).Split('\n').Single(l => l.StartsWith("vigie_retention_deleted_predictions_total ", StringComparison.Ordinal));
        return (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private static string RetentionTable(RetentionRounds retention)
    {
        var inv = CultureInfo.InvariantCulture;
        var (with, without) = (retention.Rounds.With, retention.Rounds.Without);
        var ratios = with.Zip(without, (a, b) => a.Wrk.P99Ms / b.Wrk.P99Ms).Order().ToList();
        var sb = new StringBuilder();
        sb.AppendLine("| POST /api/predictions | req/s | p50 | p99 | non-2xx | notes |");
        sb.AppendLine("|---|---:|---:|---:|---:|---|");
        foreach (var (a, b) in with.Zip(without))
        {
            sb.AppendLine(string.Create(inv, $"| {b.Name} | {b.Wrk.RequestsPerSecond:N0} | {b.Wrk.P50Ms:F2} ms | {b.Wrk.P99Ms:F2} ms | {b.Wrk.Failures} | |"));
            sb.AppendLine(string.Create(inv, $"| {a.Name} | {a.Wrk.RequestsPerSecond:N0} | {a.Wrk.P50Ms:F2} ms | {a.Wrk.P99Ms:F2} ms | {a.Wrk.Failures} | a second instance with Retention__PredictionDays={retention.Days} deleting meanwhile |"));
        }
        sb.AppendLine(string.Create(inv,
            $"| **p99 with retention / without** | | | **{Median(ratios):F2}×** | | median of {ratios.Count} rounds (from {ratios[0]:F2}× to {ratios[^1]:F2}×), target ≤ 2×; the retention deleted {retention.Deleted:N0} predictions during the loaded runs ({retention.Deleted / Math.Max(1, retention.LoadedSeconds):N0}/s) of the {retention.Expired:N0} older than {retention.Days} days |"));
        return sb.ToString();
    }
}

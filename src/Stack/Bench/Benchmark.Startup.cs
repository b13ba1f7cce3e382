using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Vigie.Stack.Bench;

public static partial class Benchmark
{
    private const int StartupRounds = 5;

    /// <summary>Start-up target of issue 20: rolling updates and container restarts wait on it.</summary>
    private static readonly TimeSpan StartupTarget = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The milestones of one start, in ms after the process was started: the log lines that mark them (message prefixes of
    /// web.log) and the two health answers polled every 10 ms. A milestone the start did not reach is absent.
    /// </summary>
    private static readonly (string Milestone, string MessagePrefix)[] StartupLogMilestones =
    [
        ("first log line (host built, its services starting)", ""),
        ("migrations checked", "Database schema up to date"),
        ("base model trained", "Trained model"),
        ("model served from the registry", "Serving model"),
    ];

    private const string Listening = "listening (`/health/live` 200)", Ready = "ready (`/health/ready` 200)";

    /// <summary>
    /// Start-up time on the benchmark's database as it is after the runs: <see cref="StartupRounds"/> fresh processes of
    /// the app, with the main instance's settings on other ports, each timed from its start to <c>/health/ready</c> 200
    /// (polled every 10 ms), with the milestones of its log between, then stopped.
    /// </summary>
    private static async Task<List<Dictionary<string, double>>> MeasureStartupAsync(Session session)
    {
        var (stack, console, token) = (session.Stack, session.Console, session.CancellationToken);
        console.WriteLine($"Start-up: {StartupRounds} fresh app processes on the benchmark's database, timed to /health/ready 200…");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var starts = new List<Dictionary<string, double>>();
        for (var round = 1; round <= StartupRounds; round++)
        {
            var (name, webPort) = ($"web-startup-{round.ToString(CultureInfo.InvariantCulture)}", FreePort.Next());
            var web = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{webPort}/"));
            var launched = DateTimeOffset.UtcNow;
            var clock = Stopwatch.StartNew();
            using var app = stack.LaunchApp(name, webPort, FreePort.Next(), new Dictionary<string, string>());
            var milestones = new Dictionary<string, double>();
            while (!milestones.ContainsKey(Ready))
            {
                if (app.HasExited || clock.Elapsed > TimeSpan.FromSeconds(120))
                {
                    throw new InvalidOperationException($"{name} did not get ready in {clock.Elapsed.TotalSeconds:F0} s:\n{app.Tail()}");
                }
                foreach (var (milestone, path) in new[] { (Listening, "/health/live"), (Ready, "/health/ready") })
                {
                    if (!milestones.ContainsKey(milestone) && await NativeStack.AnswersOkAsync(http, new Uri(web, path), token))
                    {
                        milestones[milestone] = clock.Elapsed.TotalMilliseconds;
                    }
                }
                await Task.Delay(10, token);
            }
            // The log is written asynchronously: its lines of the start are on disk a moment later.
            await Task.Delay(TimeSpan.FromSeconds(1), token);
            foreach (var (milestone, ms) in LogMilestones(Path.Combine(stack.Options.StateDirectory, name + "-logs"), launched))
            {
                milestones[milestone] = ms;
            }
            starts.Add(milestones);
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  start {round}: {string.Join(", ", milestones.OrderBy(m => m.Value).Select(m => $"{m.Key} {m.Value:F0} ms"))}"));
        }
        return starts;
    }

    /// <summary>The first line of each log milestone in the web.log files of <paramref name="logDirectory"/>, in ms after <paramref name="launched"/>.</summary>
    private static Dictionary<string, double> LogMilestones(string logDirectory, DateTimeOffset launched)
    {
        var found = new Dictionary<string, double>();
        foreach (var file in Directory.GetFiles(logDirectory, "web*.log"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                var entry = JsonDocument.Parse(line).RootElement;
                var message = entry.GetProperty("message").GetString() ?? string.Empty;
                var at = (entry.GetProperty("timestamp").GetDateTimeOffset() - launched).TotalMilliseconds;
                foreach (var (milestone, prefix) in StartupLogMilestones)
                {
                    if (message.StartsWith(prefix, StringComparison.Ordinal) && (!found.TryGetValue(milestone, out var earlier) || at < earlier))
                    {
                        found[milestone] = at;
                    }
                }
            }
        }
        return found;
    }

    /// <summary>The start-up row of the main table: median and max to ready, against the target.</summary>
    private static string StartupRow(List<Dictionary<string, double>> starts)
    {
        var ready = starts.Select(s => s[Ready]).ToList();
        var median = Median(ready);
        return string.Create(CultureInfo.InvariantCulture,
            $"| start-up to `/health/ready` 200 on the existing database ({starts.Count} fresh processes) | **{median / 1000:F2} s** median | | | | | target ≤ {StartupTarget.TotalSeconds:F0} s: **{median / StartupTarget.TotalMilliseconds:P0}** of it | max {ready.Max() / 1000:F2} s; where the time goes: table below |");
    }

    /// <summary>Median and max of each milestone over the starts, in the order a start reaches them.</summary>
    private static string StartupTable(List<Dictionary<string, double>> starts)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| start-up milestone (ms after the process started) | median | max | starts that logged it |");
        sb.AppendLine("|---|---:|---:|---:|");
        var milestones = starts.SelectMany(s => s.Keys).Distinct(StringComparer.Ordinal)
            .Select(m => (Name: m, Times: starts.Where(s => s.ContainsKey(m)).Select(s => s[m]).ToList()))
            .OrderBy(m => Median(m.Times));
        foreach (var (name, times) in milestones)
        {
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {Median(times):F0} | {times.Max():F0} | {times.Count} of {starts.Count} |"));
        }
        return sb.ToString();
    }
}

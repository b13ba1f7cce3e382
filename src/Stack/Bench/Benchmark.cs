using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Vigie.Stack.Bench;

/// <summary>What <c>dotnet cake --target=Bench</c> (<c>Vigie.Stack bench</c>) measures, and for how long.</summary>
public sealed record BenchmarkOptions : ThrowawayRunOptions
{
    protected override string Name => "bench";

    /// <summary>Seconds of each wrk run, except the long prediction run.</summary>
    public int DurationSeconds { get; init; } = 20;

    /// <summary>Seconds of the long prediction run during which RSS and the sidecar's latency are sampled.</summary>
    public int LoadSeconds { get; init; } = 60;

    public int Threads { get; init; } = 2;
    public int Connections { get; init; } = 32;

    /// <summary>Rows of the CSV uploaded to measure batch ingest.</summary>
    public int BatchRows { get; init; } = 100_000;

    /// <summary>
    /// Paired rounds of each overhead ratio: for the instrumentation, both instances (metrics on and off) under load at
    /// once; for shadow scoring, the main instance with and without a candidate in shadow, one after the other.
    /// </summary>
    public int OverheadRounds { get; init; } = 5;

    /// <summary>
    /// The phases to run (<c>--phases</c>, comma-separated): <c>endpoints</c> (every phase of the original table:
    /// endpoints, instrumentation and shadow overheads, batch ingest, log check), <c>history</c> (history reads at 10
    /// thousand and at <see cref="HistoryRows"/> rows, with their plans) and <c>retention</c> (p99 of the prediction
    /// load with and without the retention deleting). All by default; each runs alone.
    /// </summary>
    public IReadOnlySet<string> Phases { get; init; } = AllPhases;

    /// <summary>Every phase, in the order they run.</summary>
    public static readonly IReadOnlySet<string> AllPhases = new SortedSet<string>(StringComparer.Ordinal) { "endpoints", "history", "retention" };

    /// <summary>Predictions stored for the history and retention phases.</summary>
    public long HistoryRows { get; init; } = 10_000_000;
}

/// <summary>
/// The benchmark: the native stack with a durable PostgreSQL (fsync on, each prediction committed before its 201), a
/// second app instance with <c>Metrics:Enabled=false</c> on the same database, and wrk from 127.0.0.1 sharing the
/// machine's cores. Ratios compare runs of the same invocation: the instrumentation's cost (both instances at once) and
/// shadow scoring's (a candidate trained from feedback, in shadow on alternate runs). Prints one table and writes it
/// to artifacts/bench.md.
/// </summary>
public static partial class Benchmark
{
    private const long MemoryLimitBytes = 512L * 1024 * 1024;

    /// <summary>One wrk run and the CPU it cost, per request and as shares of the whole machine.</summary>
    private sealed record Run(string Name, WrkResult Wrk, double AppCpuUsPerRequest, double PgCpuUsPerRequest, double WrkShare, double OtherShare, double AppShare, double PgShare);

    /// <summary>
    /// Paired rounds of one comparison: in round i, <c>With[i]</c> ran with the feature on and <c>Without[i]</c> without
    /// it, under the same conditions. Each round gives a ratio; their median is the cost, free of the drift between rounds.
    /// </summary>
    private sealed record PairedRounds(List<Run> With, List<Run> Without)
    {
        /// <summary>Per round, the share of throughput the feature costs: 1 − with / without.</summary>
        public List<double> ThroughputCosts => With.Zip(Without, (a, b) => 1 - a.Wrk.RequestsPerSecond / b.Wrk.RequestsPerSecond).ToList();

        /// <summary>Per round, the app CPU per request the feature adds: with / without − 1.</summary>
        public List<double> CpuCosts => With.Zip(Without, (a, b) => a.AppCpuUsPerRequest / b.AppCpuUsPerRequest - 1).ToList();

        public IEnumerable<Run> All => With.Concat(Without);

        /// <summary>PostgreSQL's CPU per request the feature adds, over all rounds: with / without − 1.</summary>
        public double PostgresCost => PgPerRequest(With) / PgPerRequest(Without) - 1;

        /// <summary>PostgreSQL's CPU per request over <paramref name="runs"/>, weighted by their requests.</summary>
        public static double PgPerRequest(List<Run> runs) => runs.Sum(r => r.PgCpuUsPerRequest * r.Wrk.Requests) / runs.Sum(r => r.Wrk.Requests);

        /// <summary>
        /// Three table rows: <paramref name="withName"/>'s runs and <paramref name="withoutName"/>'s over all rounds
        /// (throughput of all their requests, mean p50 and p99, CPU per request weighted by requests), then the cost in
        /// bold, as the median of the rounds' ratios with their spread and the ratios of the totals, then <paramref name="more"/>.
        /// </summary>
        public void AppendRows(StringBuilder sb, Ceilings ceilings, string withName, string withNote, string withoutName, string withoutNote, string cost, string how, string more = "",
            double? budget = null)
        {
            var inv = CultureInfo.InvariantCulture;
            var (withRps, withCpu) = AppendRun(sb, ceilings, withName, With, withNote);
            var (withoutRps, withoutCpu) = AppendRun(sb, ceilings, withoutName, Without, withoutNote);
            var spread = ThroughputCosts;
            var ceiling = budget is { } b ? string.Create(inv, $"budget ≤ {b:P0}: {Median(spread) / b:P0} of it") : "";
            sb.AppendLine(string.Create(inv, $"| **{cost}** | **{Median(spread):P1}** of throughput | | | | {Median(CpuCosts):P1} of app CPU | {ceiling} | median of {With.Count} rounds, {how} (per round from {spread.Min():P1} to {spread.Max():P1}); totals: {1 - withRps / withoutRps:P1} and {withCpu / withoutCpu - 1:P1}{more} |"));
        }

        private static (double Rps, double Cpu) AppendRun(StringBuilder sb, Ceilings ceilings, string name, List<Run> runs, string note)
        {
            var requests = runs.Sum(r => r.Wrk.Requests);
            var rps = requests / runs.Sum(r => r.Wrk.DurationSeconds);
            var cpu = runs.Sum(r => r.AppCpuUsPerRequest * r.Wrk.Requests) / requests;
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {rps:N0} | {runs.Average(r => r.Wrk.P50Ms):F2} ms | {runs.Average(r => r.Wrk.P99Ms):F2} ms | {runs.Sum(r => r.Wrk.Failures)} | {cpu:F0} µs | {ceilings.OfPrediction(rps)} | {note} |"));
            return (rps, cpu);
        }
    }

    /// <summary>The shadow rounds (<see cref="PairedRounds.With"/> had a candidate in shadow): what it scored of what was made meanwhile.</summary>
    private sealed record ShadowRounds(PairedRounds Rounds, long Made, long Scored, double CatchUpSeconds);

    public static Task<int> RunAsync(BenchmarkOptions options, TextWriter console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return ThrowawayStack.RunThenDropDatabaseAsync(options.StateDirectory, () => RunOnStackAsync(options, console, cancellationToken));
    }

    private static async Task<int> RunOnStackAsync(BenchmarkOptions options, TextWriter console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(console);
        _ = Wrk.Executable;
        ThrowawayStack.ClearState(options.StateDirectory);
        // The shadow rounds train a candidate and put it in shadow: admin actions, with a token of this run's own.
        var adminToken = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        var stackOptions = StackOptions(options, adminToken);
        console.WriteLine("Starting the native stack (durable PostgreSQL) and two more apps, identical but for Metrics:Enabled…");
        await using var stack = await NativeStack.StartAsync(stackOptions, line => console.WriteLine($"  starting {line}"), cancellationToken);
        var endpointsPhase = options.Phases.Contains("endpoints");
        await PostgresStatistics.EnableAsync(stack.Database.AdminConnectionString, cancellationToken);
        var session = await Session.StartAsync(options, stack, adminToken, console, withTwins: endpointsPhase, cancellationToken);
        var machine = await DescribeMachineAsync(session);
        var sections = new List<string>();
        var healthy = true;
        if (endpointsPhase)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            // The instrumented instances (the main one and its twin) count what they answered; the third counts nothing.
            Uri[] instrumented = [stack.MetricsUrl, session.TwinMetricsUrl];
            var statusBefore = await StatusCountsAsync(http, instrumented);

            await WarmUpAsync(session);
            var endpoints = await MeasureEndpointsAsync(session);
            var cpu = await ProfileAsync(session, endpoints.Load);
            var instrumentation = await MeasureInstrumentationAsync(session);
            var instrumentationNs = await InProcessInstrumentationAsync(session, http);
            var scoring = await InProcessScoringAsync(session, http);
            var shadow = await ShadowRoundsAsync(session);
            var idempotency = await IdempotencyRoundsAsync(session);
            var ingest = await BatchIngest.MeasureAsync(session.Web, options.BatchRows, stack.App.Id, session.Postmaster, stack.Database.AdminConnectionString, console, cancellationToken);
            var (logRun, logLines) = await CheckLogAsync(session, stackOptions.LogDirectory);
            var statusAfter = await StatusCountsAsync(http, instrumented);
            console.WriteLine("PostgreSQL's own insert rate (pgbench, same cluster, table and row shape):");
            var pgbench = await PgBench.MeasureAsync(stack.Database, session.Postmaster, options.Connections, options.Threads, session.Duration, console, cancellationToken);
            var stored = await CountStoredAsync(stack.Database.AdminConnectionString, cancellationToken);
            var startups = await MeasureStartupAsync(session);

            var result = new Measured(endpoints, instrumentation, instrumentationNs, scoring, shadow, idempotency, ingest, logRun, logLines, statusBefore, statusAfter, stored,
                cpu, pgbench, startups);
            var (section, ok) = EndpointsReport(session, result);
            sections.Add(section);
            healthy &= ok;
        }
        else
        {
            // The later phases measure against a warm app, as after the endpoints phase.
            await WarmUpAsync(session);
        }
        if (options.Phases.Contains("history"))
        {
            var reads = await MeasureHistoryAsync(session);
            sections.Add("## History reads as the table grows\n\n" + HistoryTable(reads));
            healthy &= reads.All(r => r.Run.Wrk.Failures == 0);
        }
        if (options.Phases.Contains("retention"))
        {
            var retention = await MeasureRetentionAsync(session);
            sections.Add("## Retention under load\n\n" + RetentionTable(retention));
            healthy &= retention.Rounds.All.All(r => r.Wrk.Failures == 0) && retention.Deleted > 0;
        }
        return await ReportAsync(session, machine, sections, healthy);
    }

    private static NativeStackOptions StackOptions(BenchmarkOptions options, string adminToken) => new()
    {
        RepositoryRoot = options.RepositoryRoot,
        StateDirectory = options.StateDirectory,
        LogDirectory = Path.Combine(options.StateDirectory, "logs"),
        Configuration = options.Configuration,
        DurableDatabase = true,
        DatabaseSettings = PostgresStatistics.ServerSettings,
        AppSettings = new Dictionary<string, string>
        {
            ["Batch__MaxUploadBytes"] = (64 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
            ["Bench__Enabled"] = "true",
            // One load generator at the app's ceiling (about 12,000 writes/s) is what the benchmark measures; the
            // per-client write limit (2,000/s by default) would measure the limiter instead.
            ["RateLimits__Writes"] = "0",
            ["admin_token"] = adminToken,
        },
    };

    /// <summary>What the run happens on: cores, CPU, load at the start, wrk's settings, PostgreSQL's version.</summary>
    private static async Task<string> DescribeMachineAsync(Session session)
    {
        string postgresVersion;
        await using (var connection = new NpgsqlConnection(session.Stack.Database.AdminConnectionString))
        {
            await connection.OpenAsync(session.CancellationToken);
            postgresVersion = connection.PostgreSqlVersion.ToString();
        }
        var options = session.Options;
        return string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores ({CpuModel()}), load average {session.LoadAverageAtStart} at the start; wrk -t{options.Threads} -c{options.Connections} on 127.0.0.1; PostgreSQL {postgresVersion} durable (fsync on, synchronous_commit on); {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    }

    private static async Task WarmUpAsync(Session session)
    {
        session.Console.WriteLine($"Warming up (JIT tiering, connection pools)… load average {session.LoadAverageAtStart}");
        session.WarmUps.Add(await session.LoadAsync(TimeSpan.FromSeconds(10)));
        foreach (var path in new[] { "/", "/api/predictions", "/bench/noop", "/health/live" })
        {
            await Wrk.RunAsync(new Uri(session.Web, path), session.Scripts, null, session.Options.Threads, session.Options.Connections, TimeSpan.FromSeconds(3), session.CancellationToken);
        }
    }

    /// <summary>The main instance's endpoints one after the other; RSS and the sidecar's latency sampled during the long prediction run.</summary>
    private static async Task<EndpointRuns> MeasureEndpointsAsync(Session session)
    {
        var (stack, web, duration, runs) = (session.Stack, session.Web, session.Duration, session.Runs);
        session.Console.WriteLine("Measuring:");
        runs.Add(await session.MeasureAsync("GET /bench/noop (ceiling)", new Uri(web, "/bench/noop"), null, duration, stack.App.Id));
        runs.Add(await session.MeasureAsync("GET /health/live", new Uri(web, "/health/live"), null, duration, stack.App.Id));
        runs.Add(await session.MeasureAsync("GET / (home page)", web, null, duration, stack.App.Id));

        using var sampling = new CancellationTokenSource();
        var rss = new List<long>();
        var scrapes = new List<double>();
        var rssSampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                rss.Add(ProcFs.StatusKb(stack.App.Id, "VmRSS") ?? 0);
                await Task.Delay(250, CancellationToken.None);
            }
        }, CancellationToken.None);
        var scrapeSampler = Task.Run(async () =>
        {
            using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            while (!sampling.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                using (var response = await scraper.GetAsync(stack.MetricsUrl, CancellationToken.None))
                {
                    await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
                }
                scrapes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                await Task.Delay(250, CancellationToken.None);
            }
        }, CancellationToken.None);
        var database = stack.Database.AdminConnectionString;
        var before = await PostgresStatistics.StartAsync(database, session.CancellationToken);
        var load = await session.MeasureAsync($"POST /api/predictions ({session.Options.LoadSeconds} s)", new Uri(web, "/api/predictions"), "post-prediction.lua",
            TimeSpan.FromSeconds(session.Options.LoadSeconds), stack.App.Id);
        runs.Add(load);
        await sampling.CancelAsync();
        await Task.WhenAll(rssSampler, scrapeSampler);
        var postgres = await PostgresStatistics.FinishAsync(load.Name, "predictions", database, before, load.PgCpuUsPerRequest, session.CancellationToken);
        var peakRssKb = rss.Max();
        var hwmKb = ProcFs.StatusKb(stack.App.Id, "VmHWM") ?? 0;

        runs.Add(await session.MeasureAsync("GET /api/predictions (25 newest)", new Uri(web, "/api/predictions"), null, duration, stack.App.Id));
        runs.Add(await session.MeasureAsync("sidecar GET /metrics", stack.MetricsUrl, null, duration, stack.App.Id));
        return new EndpointRuns(load, peakRssKb, hwmKb, scrapes, postgres);
    }

    /// <summary>
    /// Instrumentation overhead: the twins under the same prediction load at the same time (half of wrk's threads
    /// and connections each), same database. Whatever else the machine does then slows both alike, so the ratio of
    /// their throughputs is the cost of the instrumentation, which alternating runs could not separate from the load
    /// of other processes changing between runs. A paired warm-up first, not counted; the instrumented twin's
    /// sidecar is scraped every 5 s during the rounds, as Prometheus scrapes the app.
    /// </summary>
    private static async Task<PairedRounds> MeasureInstrumentationAsync(Session session)
    {
        var (options, scripts, token) = (session.Options, session.Scripts, session.CancellationToken);
        var threads = Math.Max(1, options.Threads / 2);
        var connections = Math.Max(1, options.Connections / 2);
        Task<WrkResult> Load(Uri app, TimeSpan length) => Wrk.RunAsync(new Uri(app, "/api/predictions"), scripts, "post-prediction.lua", threads, connections, length, token);

        session.WarmUps.AddRange(await Task.WhenAll(Load(session.TwinUrl, TimeSpan.FromSeconds(20)), Load(session.PlainUrl, TimeSpan.FromSeconds(20))));
        using var twinScrapes = new CancellationTokenSource();
        var twinScraper = Task.Run(async () =>
        {
            using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            while (!twinScrapes.IsCancellationRequested)
            {
                (await scraper.GetAsync(session.TwinMetricsUrl, CancellationToken.None)).Dispose();
                await Task.Delay(TimeSpan.FromSeconds(5), twinScrapes.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }, CancellationToken.None);
        var instrumentation = new PairedRounds([], []);
        var (on, off) = (instrumentation.With, instrumentation.Without);
        var (twin, plain, postmaster) = (session.Twin.Id, session.Plain.Id, session.Postmaster);
        for (var round = 0; round < options.OverheadRounds; round++)
        {
            var (busy0, total0) = ProcFs.MachineTicks();
            var (on0, off0, pg0, wrk0) = (ProcFs.CpuTicks(twin), ProcFs.CpuTicks(plain), ProcFs.TreeTicks(postmaster), ProcFs.WaitedChildrenTicks());
            var withMetrics = Load(session.TwinUrl, session.Duration);
            var withoutMetrics = Load(session.PlainUrl, session.Duration);
            var (a, b) = (await withMetrics, await withoutMetrics);
            var (busy1, total1) = ProcFs.MachineTicks();
            double appOn = ProcFs.CpuTicks(twin) - on0, appOff = ProcFs.CpuTicks(plain) - off0;
            double pg = ProcFs.TreeTicks(postmaster) - pg0, wrk = ProcFs.WaitedChildrenTicks() - wrk0, total = total1 - total0;
            var other = Math.Max(0, busy1 - busy0 - appOn - appOff - pg - wrk) / total;
            const double usPerTick = 1e6 / ProcFs.TicksPerSecond;
            var pgPerRequest = pg * usPerTick / Math.Max(1, a.Requests + b.Requests);
            on.Add(new Run("POST /api/predictions, metrics on", a, appOn * usPerTick / Math.Max(1, a.Requests), pgPerRequest, wrk / total, other, appOn / total, pg / total));
            off.Add(new Run("POST /api/predictions, metrics off", b, appOff * usPerTick / Math.Max(1, b.Requests), pgPerRequest, wrk / total, other, appOff / total, pg / total));
            session.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {round + 1}: metrics on {a.RequestsPerSecond,7:N0} req/s ({on[^1].AppCpuUsPerRequest:F0} µs/req), off {b.RequestsPerSecond,7:N0} req/s ({off[^1].AppCpuUsPerRequest:F0} µs/req), failures {a.Failures + b.Failures}, other processes {other:P0}"));
        }

        await twinScrapes.CancelAsync();
        await twinScraper;
        return instrumentation;
    }

    /// <summary>The same question answered without the machine's noise: the catalog's own cost per request, in-process.</summary>
    private static async Task<double> InProcessInstrumentationAsync(Session session, HttpClient http)
    {
        var nanoseconds = JsonDocument.Parse(await http.GetStringAsync(new Uri(session.Web, "/bench/instrumentation"), session.CancellationToken))
            .RootElement.GetProperty("nanosecondsPerRequest").GetDouble();
        session.Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  instrumentation per request, in-process: {nanoseconds:F0} ns"));
        return nanoseconds;
    }

    /// <summary>
    /// Scoring one prediction with and without the out-of-distribution score, in the app's process and CPU time (paired
    /// rounds on one thread, with the model it serves): the score must cost at most 5 % more CPU than scoring alone.
    /// </summary>
    private static async Task<ScoringCpu> InProcessScoringAsync(Session session, HttpClient http)
    {
        var result = JsonDocument.Parse(await http.GetStringAsync(new Uri(session.Web, "/bench/scoring"), session.CancellationToken)).RootElement;
        var scoring = new ScoringCpu(result.GetProperty("speciesOnlyNanoseconds").GetDouble(), result.GetProperty("withOutOfDistributionNanoseconds").GetDouble(),
            result.GetProperty("cost").GetDouble(), result.GetProperty("medianCost").GetDouble(), result.GetProperty("predictions").GetInt32(),
            result.GetProperty("rounds").GetInt32(), result.GetProperty("clock").GetString()!);
        session.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  scoring per prediction, in-process {scoring.Clock}: {scoring.SpeciesOnlyNanoseconds:F0} ns species only, {scoring.WithOutOfDistributionNanoseconds:F0} ns with the out-of-distribution score ({scoring.Cost:+0.0%;-0.0%}; median of the rounds {scoring.MedianCost:+0.0%;-0.0%})"));
        return scoring;
    }

    /// <summary>What <c>GET /bench/scoring</c> measured: CPU per prediction without and with the score (least-disturbed rounds), and the cost.</summary>
    private sealed record ScoringCpu(double SpeciesOnlyNanoseconds, double WithOutOfDistributionNanoseconds, double Cost, double MedianCost, int Predictions, int Rounds, string Clock);

    /// <summary>Every summary line reaches web.log: the last run's lines are counted in the log files (whose rotation keeps 70 MB).</summary>
    private static async Task<(Run LogRun, long LogLines)> CheckLogAsync(Session session, string logDirectory)
    {
        await Task.Delay(TimeSpan.FromSeconds(2), session.CancellationToken);
        var logCheckStart = DateTimeOffset.UtcNow;
        var logRun = await session.MeasureAsync("POST /api/predictions (log check)", new Uri(session.Web, "/api/predictions"), "post-prediction.lua", TimeSpan.FromSeconds(10), session.Stack.App.Id);
        await Task.Delay(TimeSpan.FromSeconds(3), session.CancellationToken);
        return (logRun, CountSummaryLines(logDirectory, logCheckStart));
    }

    private static async Task<(long Api, long Batch)> CountStoredAsync(string adminConnectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var count = new NpgsqlCommand("SELECT count(*) FILTER (WHERE channel = 'api'), count(*) FILTER (WHERE channel = 'batch') FROM predictions", connection);
        await using var reader = await count.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The endpoints phase's table and integrity checks, and whether every check holds.</summary>
    private static (string Section, bool Healthy) EndpointsReport(Session session, Measured m)
    {
        var (options, console, warmUps) = (session.Options, session.Console, session.WarmUps);
        var serverNon2xx = m.StatusAfter.Where(s => !s.Key.StartsWith('2'))
            .Select(s => (Status: s.Key, Count: s.Value - m.StatusBefore.GetValueOrDefault(s.Key)))
            .Where(s => s.Count > 0).OrderBy(s => s.Status, StringComparer.Ordinal).ToList();
        // wrk ends a run by closing its connections: a request caught half-sent is answered 400 (body cut short) or 499
        // (client closed) to nobody. Those are the only non-2xx the app may count that wrk does not.
        var cutOffStatuses = new[] { "400", "499" };
        var unexplainedNon2xx = serverNon2xx.Where(s => !cutOffStatuses.Contains(s.Status)).Sum(s => s.Count);
        var cutOffNon2xx = serverNon2xx.Where(s => cutOffStatuses.Contains(s.Status)).Sum(s => s.Count);
        var (apiRows, batchRows) = m.Stored;
        var batchRowsStored = m.Ingest.RowsStored;

        var allRuns = session.Runs.Concat(m.Instrumentation.All).Concat(m.Shadow.Rounds.All).Concat(m.Idempotency.All).Append(m.LogRun).ToList();
        var postRuns = allRuns.Where(r => r.Name.StartsWith("POST", StringComparison.Ordinal)).ToList();
        var acknowledged = postRuns.Sum(r => r.Wrk.Succeeded) + warmUps.Sum(w => w.Succeeded);
        var failures = allRuns.Sum(r => r.Wrk.Failures) + warmUps.Sum(w => w.Failures);
        // wrk ends each run by closing its connections: the requests then in flight are committed but not counted by it.
        var cutOff = apiRows - acknowledged;

        var table = Table(options, session.Runs, m);
        var checks = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"- Non-2xx answers: {failures} seen by wrk; the instrumented instances' own `vigie_http_requests_total` (main and twin) counted {(serverNon2xx.Count == 0 ? "none" : string.Join(", ", serverNon2xx.Select(s => $"{s.Count:0} × {s.Status}")))}{(cutOffNon2xx > 0 ? " (requests cut in half when wrk closed its connections at the end of a run, answered to nobody)" : "")}.")
            .AppendLine(CultureInfo.InvariantCulture, $"- Predictions in PostgreSQL: {apiRows:N0} from the API for {acknowledged:N0} acknowledged 201s (+{cutOff} in flight when wrk closed its connections at the end of {postRuns.Count + warmUps.Count} runs, committed but not counted by wrk: at most {options.Connections} a run); {batchRows:N0} batch rows for {batchRowsStored:N0} uploaded.")
            .AppendLine(CultureInfo.InvariantCulture, $"- web.log: {m.LogLines:N0} request-summary lines for the {m.LogRun.Wrk.Succeeded:N0} acknowledged POSTs of the last 10 s run (+ requests in flight at its end).")
            .ToString();
        var runCount = allRuns.Count + warmUps.Count;
        var healthy = failures == 0 && unexplainedNon2xx == 0 && cutOffNon2xx <= runCount * options.Connections && apiRows >= acknowledged && batchRows == batchRowsStored && m.LogLines >= m.LogRun.Wrk.Succeeded
            && m.Shadow.Scored > 0;
        var postgres = PostgresStatistics.Report([m.Endpoints.Postgres, .. m.PgBench.Select(r => r.Postgres), m.Ingest.Postgres, m.Ingest.PsqlPostgres]);
        return ($"{table}\n{checks}\n### Where the app's CPU goes\n\n{CpuTable(m.Cpu)}\n### PostgreSQL's own view\n\n{postgres}\n### Start-up\n\n{StartupTable(m.Startups)}", healthy);
    }

    /// <summary>Writes the sections of the phases run to artifacts/bench.md and the console; 0 when every check holds.</summary>
    private static async Task<int> ReportAsync(Session session, string machine, List<string> sections, bool healthy)
    {
        var (options, console) = (session.Options, session.Console);
        var document = $"# Vigie benchmark\n\n{machine}\n\n{string.Join("\n", sections)}";
        Directory.CreateDirectory(Path.GetDirectoryName(options.Output)!);
        await File.WriteAllTextAsync(options.Output, document, session.CancellationToken);
        console.WriteLine();
        console.WriteLine(document);
        console.WriteLine($"Written to {Path.GetRelativePath(options.RepositoryRoot, options.Output)}");
        if (!healthy)
        {
            console.WriteLine("Benchmark checks FAILED (see above).");
        }
        return healthy ? 0 : 1;
    }

    /// <summary>The long prediction run of the main instance and what was sampled during it.</summary>
    private sealed record EndpointRuns(Run Load, long PeakRssKb, long HwmKb, List<double> Scrapes, PostgresStretch Postgres);

    /// <summary>Everything the phases measured, for the report.</summary>
    private sealed record Measured(EndpointRuns Endpoints, PairedRounds Instrumentation, double InstrumentationNs, ScoringCpu Scoring, ShadowRounds Shadow, PairedRounds Idempotency, BatchIngestResult Ingest,
        Run LogRun, long LogLines, Dictionary<string, double> StatusBefore, Dictionary<string, double> StatusAfter, (long Api, long Batch) Stored,
        CpuBreakdown Cpu, IReadOnlyList<PgBenchResult> PgBench, List<Dictionary<string, double>> Startups);

    /// <summary>
    /// What every phase of one benchmark run shares: the options, the stack and its two twins (metrics on and off), the
    /// postmaster whose process tree is PostgreSQL's CPU, the wrk scripts, and the runs and warm-ups recorded so far.
    /// </summary>
    private sealed class Session
    {
        public required BenchmarkOptions Options { get; init; }
        public required TextWriter Console { get; init; }
        public required CancellationToken CancellationToken { get; init; }
        public required NativeStack Stack { get; init; }
        public required string AdminToken { get; init; }
        public required ManagedProcess Plain { get; init; }
        public required ManagedProcess Twin { get; init; }
        public required Uri PlainUrl { get; init; }
        public required Uri TwinUrl { get; init; }
        public required Uri TwinMetricsUrl { get; init; }
        public required int Postmaster { get; init; }
        public required string LoadAverageAtStart { get; init; }
        public string Scripts => Path.Combine(Options.RepositoryRoot, "src", "Stack", "Bench", "Scripts");
        public Uri Web => Stack.WebUrl;
        public TimeSpan Duration => TimeSpan.FromSeconds(Options.DurationSeconds);
        public List<Run> Runs { get; } = [];
        public List<WrkResult> WarmUps { get; } = [];

        /// <summary>
        /// Starts the twins on the stack's database. The overhead compares two instances started together and loaded
        /// alike, which differ only in Metrics:Enabled; the main instance, with a minute of load and Prometheus' scrapes
        /// behind it, would not be a like-for-like twin. Without <paramref name="withTwins"/> (only the later phases run),
        /// the main instance stands in for both.
        /// </summary>
        public static async Task<Session> StartAsync(BenchmarkOptions options, NativeStack stack, string adminToken, TextWriter console, bool withTwins, CancellationToken cancellationToken)
        {
            var (plainPort, twinPort, twinMetricsPort) = withTwins ? (FreePort.Next(), FreePort.Next(), FreePort.Next()) : (stack.Options.WebPort, stack.Options.WebPort, stack.Options.MetricsPort);
            var plain = withTwins
                ? await stack.StartAppAsync("web-no-metrics", plainPort, FreePort.Next(), new Dictionary<string, string> { ["Metrics__Enabled"] = "false" }, cancellationToken)
                : stack.App;
            var twin = withTwins ? await stack.StartAppAsync("web-metrics", twinPort, twinMetricsPort, new Dictionary<string, string>(), cancellationToken) : stack.App;
            return new Session
            {
                Options = options,
                Console = console,
                CancellationToken = cancellationToken,
                Stack = stack,
                AdminToken = adminToken,
                Plain = plain,
                Twin = twin,
                PlainUrl = new Uri($"http://127.0.0.1:{plainPort.ToString(CultureInfo.InvariantCulture)}/"),
                TwinUrl = new Uri($"http://127.0.0.1:{twinPort.ToString(CultureInfo.InvariantCulture)}/"),
                TwinMetricsUrl = new Uri($"http://127.0.0.1:{twinMetricsPort.ToString(CultureInfo.InvariantCulture)}/metrics"),
                Postmaster = int.Parse(File.ReadLines(Path.Combine(stack.Database.BaseDirectory, "data", "postmaster.pid")).First(), CultureInfo.InvariantCulture),
                LoadAverageAtStart = File.ReadAllText("/proc/loadavg").Split(' ')[0],
            };
        }

        /// <summary>The prediction load on the main instance, with all of wrk's threads and connections, not measured.</summary>
        public Task<WrkResult> LoadAsync(TimeSpan length) =>
            Wrk.RunAsync(new Uri(Web, "/api/predictions"), Scripts, "post-prediction.lua", Options.Threads, Options.Connections, length, CancellationToken);

        /// <summary>One wrk run against <paramref name="url"/> and the CPU it cost the app, PostgreSQL, wrk and the rest of the machine.</summary>
        public async Task<Run> MeasureAsync(string name, Uri url, string? script, TimeSpan length, int appPid)
        {
            var (busy0, total0) = ProcFs.MachineTicks();
            var app0 = ProcFs.CpuTicks(appPid);
            var pg0 = ProcFs.TreeTicks(Postmaster);
            var wrk0 = ProcFs.WaitedChildrenTicks();
            var result = await Wrk.RunAsync(url, Scripts, script, Options.Threads, Options.Connections, length, CancellationToken);
            var (busy1, total1) = ProcFs.MachineTicks();
            double app = ProcFs.CpuTicks(appPid) - app0, pg = ProcFs.TreeTicks(Postmaster) - pg0, wrk = ProcFs.WaitedChildrenTicks() - wrk0;
            double busy = busy1 - busy0, total = total1 - total0;
            var perRequest = 1e6 / ProcFs.TicksPerSecond / Math.Max(1, result.Requests);
            var run = new Run(name, result, app * perRequest, pg * perRequest, wrk / total, Math.Max(0, busy - app - pg - wrk) / total, app / total, pg / total);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name,-46} {result.RequestsPerSecond,9:N0} req/s  p50 {result.P50Ms,6:F2} ms  p99 {result.P99Ms,7:F2} ms  failures {result.Failures}  app {run.AppCpuUsPerRequest:F0} µs/req  other processes {run.OtherShare:P0}"));
            return run;
        }
    }

    /// <summary>
    /// Shadow scoring's cost, on the main instance. Which candidate is in shadow is registry state shared by every
    /// instance, so the two instances cannot compare it side by side: the same instance runs without and with a
    /// candidate in shadow, in ABBA order (off–on, on–off, …) so that neither always runs first. The candidate is
    /// trained once beforehand (feedback on the newest predictions makes a new version). After each shadowed run the
    /// worker's backlog is waited for, its CPU counted for that run, so the next run starts from a quiet instance; every
    /// shadowed run stops the shadow when it ends, which leaves the registry as it was (the candidate stays a candidate).
    /// </summary>
    private static async Task<ShadowRounds> ShadowRoundsAsync(Session session)
    {
        var (options, web, adminToken, console, cancellationToken) = (session.Options, session.Web, session.AdminToken, session.Console, session.CancellationToken);
        var (database, appPid, postmaster) = (session.Stack.Database.AdminConnectionString, session.Stack.App.Id, session.Postmaster);
        Task<Run> Measure(string name) => session.MeasureAsync(name, new Uri(web, "/api/predictions"), "post-prediction.lua", session.Duration, appPid);
        using var admin = TrainCommand.AdminClient(web, adminToken);
        var newest = JsonDocument.Parse(await admin.GetStringAsync(new Uri("/api/predictions", UriKind.Relative), cancellationToken)).RootElement.GetProperty("items");
        foreach (var prediction in newest.EnumerateArray())
        {
            using var feedback = await admin.PostAsJsonAsync(new Uri($"/api/predictions/{prediction.GetProperty("id").GetInt64()}/feedback", UriKind.Relative),
                new { actualSpecies = prediction.GetProperty("species").GetString() }, cancellationToken);
            feedback.EnsureSuccessStatusCode();
        }
        console.WriteLine($"Training a candidate to shadow, from feedback on the {newest.GetArrayLength()} newest predictions…");
        var run = await TrainCommand.TrainAsync(admin, console, TimeSpan.FromMinutes(5), cancellationToken);
        if (run is not { } finished || finished.GetProperty("outcome").GetString() != "registered")
        {
            throw new InvalidOperationException($"No candidate to shadow: {run}");
        }
        var candidate = finished.GetProperty("candidateVersion").GetString()!;
        console.WriteLine($"  candidate {candidate} registered; shadow off and on in turn:");

        async Task<long> ScalarAsync(string sql, params (string Name, object Value)[] parameters)
        {
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(sql, connection);
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }
        Task<long> LastIdAsync() => ScalarAsync("SELECT coalesce(max(id), 0) FROM predictions");

        async Task ShadowAsync(HttpMethod method)
        {
            using var request = new HttpRequestMessage(method, new Uri($"/api/models/{candidate}/shadow", UriKind.Relative));
            using var response = await admin.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"{method} /api/models/{candidate}/shadow: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
        }

        // One load with the candidate in shadow (applied on the loaded instance before the 201 of the POST), then what
        // it made, what the candidate scored of it once the worker has caught up, and the CPU ticks of the app and of
        // PostgreSQL meanwhile.
        async Task<(T Result, long Made, long Scored, double CatchUpSeconds, long AppTicks, long PgTicks)> ShadowedAsync<T>(Func<Task<T>> loaded)
        {
            var from = await LastIdAsync();
            await ShadowAsync(HttpMethod.Post);
            T result;
            long app0, pg0, started;
            try
            {
                result = await loaded();
                (app0, pg0, started) = (ProcFs.CpuTicks(appPid), ProcFs.TreeTicks(postmaster), Stopwatch.GetTimestamp());
                // The requests in flight when wrk closed its connections are still answered, and queued for the candidate.
                await Task.Delay(500, cancellationToken);
            }
            finally
            {
                await ShadowAsync(HttpMethod.Delete);
            }
            var to = await LastIdAsync();
            var made = await ScalarAsync("SELECT count(*) FROM predictions WHERE id > @from AND id <= @to", ("from", from), ("to", to));
            // Done when every prediction is scored, or when the count has not moved for a second (the rest were dropped).
            long scored = -1;
            var stableSince = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(120))
            {
                var now = await ScalarAsync("SELECT count(*) FROM shadow_predictions WHERE version = @version AND prediction_id > @from AND prediction_id <= @to",
                    ("version", candidate), ("from", from), ("to", to));
                if (now != scored)
                {
                    (scored, stableSince) = (now, Stopwatch.GetTimestamp());
                }
                if (scored >= made || Stopwatch.GetElapsedTime(stableSince) >= TimeSpan.FromSeconds(1))
                {
                    break;
                }
                await Task.Delay(100, cancellationToken);
            }
            return (result, made, scored, Stopwatch.GetElapsedTime(started).TotalSeconds, ProcFs.CpuTicks(appPid) - app0, ProcFs.TreeTicks(postmaster) - pg0);
        }

        // The shadow path (queue, worker, its INSERT) warmed up first, as the rest was.
        session.WarmUps.Add((await ShadowedAsync(() => session.LoadAsync(TimeSpan.FromSeconds(10)))).Result);
        var rounds = new PairedRounds([], []);
        long totalMade = 0, totalScored = 0;
        double catchUp = 0;
        for (var round = 1; round <= options.OverheadRounds; round++)
        {
            Run? with = null, without = null;
            foreach (var shadowed in round % 2 == 1 ? new[] { false, true } : [true, false])
            {
                if (!shadowed)
                {
                    without = await Measure($"POST /api/predictions, no shadow (round {round})");
                    continue;
                }
                var name = $"POST /api/predictions, in shadow (round {round})";
                var (result, made, scored, seconds, appTicks, pgTicks) = await ShadowedAsync(() => Measure(name));
                // The worker's catch-up after the run is part of the shadow's cost per request.
                var usPerTickAndRequest = 1e6 / ProcFs.TicksPerSecond / Math.Max(1, result.Wrk.Requests);
                with = result with
                {
                    AppCpuUsPerRequest = result.AppCpuUsPerRequest + appTicks * usPerTickAndRequest,
                    PgCpuUsPerRequest = result.PgCpuUsPerRequest + pgTicks * usPerTickAndRequest,
                };
                (totalMade, totalScored, catchUp) = (totalMade + made, totalScored + scored, catchUp + seconds);
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"    shadow-scored {scored:N0} of {made:N0} predictions; worker caught up {seconds:F1} s after the run; app {with.AppCpuUsPerRequest:F0} µs/req with it"));
            }
            rounds.With.Add(with!);
            rounds.Without.Add(without!);
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {round}: in shadow {with!.Wrk.RequestsPerSecond,7:N0} req/s ({with.AppCpuUsPerRequest:F0} µs/req), no shadow {without!.Wrk.RequestsPerSecond,7:N0} req/s ({without.AppCpuUsPerRequest:F0} µs/req): {rounds.ThroughputCosts[^1]:P1} of throughput"));
        }
        return new ShadowRounds(rounds, totalMade, totalScored, catchUp);
    }

    /// <summary>
    /// The cost of <c>Idempotency-Key</c> per prediction, on the main instance: the same load without the header and with
    /// a new key on every request (each one claimed, run and its answer stored), in ABBA order so that neither always
    /// runs first. The ratio within the run is the figure: the machine is shared, absolute rates move between runs.
    /// </summary>
    private static async Task<PairedRounds> IdempotencyRoundsAsync(Session session)
    {
        const string keyed = "post-prediction-idempotent.lua";
        Task<Run> Measure(string name, string script) =>
            session.MeasureAsync(name, new Uri(session.Web, "/api/predictions"), script, session.Duration, session.Stack.App.Id);
        session.Console.WriteLine("Idempotency-Key: with and without the header in turn:");
        session.WarmUps.Add(await Wrk.RunAsync(new Uri(session.Web, "/api/predictions"), session.Scripts, keyed, session.Options.Threads, session.Options.Connections,
            TimeSpan.FromSeconds(5), session.CancellationToken));
        var rounds = new PairedRounds([], []);
        for (var round = 1; round <= session.Options.OverheadRounds; round++)
        {
            Run? with = null, without = null;
            foreach (var keyedFirst in round % 2 == 1 ? new[] { false, true } : [true, false])
            {
                if (keyedFirst)
                {
                    with = await Measure($"POST /api/predictions, Idempotency-Key (round {round})", keyed);
                }
                else
                {
                    without = await Measure($"POST /api/predictions, no key (round {round})", "post-prediction.lua");
                }
            }
            rounds.With.Add(with!);
            rounds.Without.Add(without!);
            session.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {round}: with a key {with!.Wrk.RequestsPerSecond,7:N0} req/s ({with.AppCpuUsPerRequest:F0} µs/req), without {without!.Wrk.RequestsPerSecond,7:N0} req/s ({without.AppCpuUsPerRequest:F0} µs/req): {rounds.ThroughputCosts[^1]:P1} of throughput"));
        }
        return rounds;
    }

    /// <summary>
    /// What each row is measured against on this machine: the no-op pipeline for requests, PostgreSQL's own insert rate
    /// (pgbench, one row per commit and the app's grouped statement) for predictions, psql's <c>\copy</c> for batch rows.
    /// </summary>
    private sealed record Ceilings(double NoopRps, PgBenchResult SingleRow, PgBenchResult Grouped, double PsqlRowsPerSecond)
    {
        public string OfRequest(double rps) => string.Create(CultureInfo.InvariantCulture, $"{rps / NoopRps:P0} of no-op");

        public string OfPrediction(double rps) => string.Create(CultureInfo.InvariantCulture,
            $"{rps / NoopRps:P0} of no-op; {rps / SingleRow.RowsPerSecond:P0} of pgbench 1 row/commit; {rps / Grouped.RowsPerSecond:P0} of pgbench {Grouped.RowsPerCommit} rows/commit");
    }

    private static string Table(BenchmarkOptions options, List<Run> runs, Measured m)
    {
        var (load, instrumentation, shadow, idempotency, ingest, scoring) = (m.Endpoints.Load, m.Instrumentation, m.Shadow, m.Idempotency, m.Ingest, m.Scoring);
        var (peakRssKb, hwmKb, scrapes, instrumentationNs) = (m.Endpoints.PeakRssKb, m.Endpoints.HwmKb, m.Endpoints.Scrapes, m.InstrumentationNs);
        var inv = CultureInfo.InvariantCulture;
        var ceilings = new Ceilings(runs[0].Wrk.RequestsPerSecond, m.PgBench[0], m.PgBench[1], ingest.PsqlRowsPerSecond);
        var sb = new StringBuilder();
        sb.AppendLine("| measurement | req/s | p50 | p99 | non-2xx | app CPU / request | ceiling: share of it reached | notes |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---|---|");
        foreach (var run in runs)
        {
            var isPrediction = run.Name.StartsWith("POST /api/predictions", StringComparison.Ordinal);
            var ceiling = run == runs[0] ? "the ceiling of requests" : isPrediction ? ceilings.OfPrediction(run.Wrk.RequestsPerSecond) : ceilings.OfRequest(run.Wrk.RequestsPerSecond);
            var note = run == load
                ? string.Create(inv, $"PostgreSQL {run.PgCpuUsPerRequest:F0} µs/request; CPU: app {run.AppShare:P0}, PostgreSQL {run.PgShare:P0}, wrk {run.WrkShare:P0}, other processes {run.OtherShare:P0}")
                : run == runs[0] ? "full pipeline (routing, metrics, log line), no work: the ceiling on this machine"
                : string.Create(inv, $"other processes {run.OtherShare:P0} of the CPU");
            sb.AppendLine(string.Create(inv, $"| {run.Name} | {run.Wrk.RequestsPerSecond:N0} | {run.Wrk.P50Ms:F2} ms | {run.Wrk.P99Ms:F2} ms | {run.Wrk.Failures} | {run.AppCpuUsPerRequest:F0} µs | {ceiling} | {note} |"));
        }
        PgBench.AppendRows(sb, m.PgBench, options.Connections, options.Threads);
        // Each round runs both instances side by side: the median of the rounds' ratios.
        instrumentation.AppendRows(sb, ceilings,
            $"POST /api/predictions, metrics on ({instrumentation.With.Count} × {options.DurationSeconds} s, half the connections)", "a fresh instance loaded at the same time as its twin in the next row; its sidecar scraped every 5 s",
            $"POST /api/predictions, `Metrics:Enabled=false` ({instrumentation.Without.Count} × {options.DurationSeconds} s, half the connections)",
            string.Create(inv, $"the twin: started and loaded alike, same database; other processes took {instrumentation.Without.Average(r => r.OtherShare):P0} of the CPU"),
            "instrumentation overhead", "both instances loaded at once", budget: 0.03);
        sb.AppendLine(string.Create(inv, $"| instrumentation per request, measured in-process | | | | | {instrumentationNs / 1000:F2} µs | {instrumentationNs / 1000 / load.AppCpuUsPerRequest:P1} of the app's CPU per prediction | HTTP metrics middleware and the catalog calls of one prediction, one thread, no contention |"));
        sb.AppendLine(string.Create(inv, $"| scoring one prediction, species only (as before the out-of-distribution score), in-process | | | | | {scoring.SpeciesOnlyNanoseconds / 1000:F3} µs | {scoring.SpeciesOnlyNanoseconds / 1000 / load.AppCpuUsPerRequest:P1} of the app's CPU per prediction | {scoring.Clock} per prediction, least-disturbed of {scoring.Rounds} paired rounds of {scoring.Predictions:N0} predictions on one thread, the model in service |"));
        sb.AppendLine(string.Create(inv, $"| **scoring one prediction with the out-of-distribution score**, in-process | | | | | **{scoring.WithOutOfDistributionNanoseconds / 1000:F3} µs** | budget +5 %: {scoring.Cost / 0.05:P0} of it | **{scoring.Cost:+0.0%;-0.0%}** CPU (median of the rounds' ratios {scoring.MedianCost:+0.0%;-0.0%}); one bird in fifty beyond every training range |"));
        // One instance, shadow on and off in turn (ABBA): the median of the rounds' ratios.
        var (shadowOn, shadowOff) = (shadow.Rounds.With, shadow.Rounds.Without);
        shadow.Rounds.AppendRows(sb, ceilings,
            $"POST /api/predictions, candidate in shadow ({shadowOn.Count} × {options.DurationSeconds} s)",
            string.Create(inv, $"{shadow.Scored:N0} of the {shadow.Made:N0} predictions made shadow-scored ({shadow.Made - shadow.Scored:N0} not: queue full or cut off); CPU includes the worker's catch-up after each run ({shadow.CatchUpSeconds:F1} s in all); PostgreSQL {PairedRounds.PgPerRequest(shadowOn):F0} µs/request"),
            $"POST /api/predictions, no shadow ({shadowOff.Count} × {options.DurationSeconds} s)",
            string.Create(inv, $"main instance, alternating with the previous row; PostgreSQL {PairedRounds.PgPerRequest(shadowOff):F0} µs/request; other processes took {shadowOff.Average(r => r.OtherShare):P0} of the CPU"),
            "shadow-scoring overhead", "one instance with shadow off and on in turn, in ABBA order",
            string.Create(inv, $"; PostgreSQL CPU per request {shadow.Rounds.PostgresCost:+0.0 %;-0.0 %} (the INSERTs into shadow_predictions)"));
        idempotency.AppendRows(sb, ceilings,
            $"POST /api/predictions with an `Idempotency-Key` ({idempotency.With.Count} × {options.DurationSeconds} s)",
            string.Create(inv, $"a new key per request: claimed, run, answer stored (two more statements); PostgreSQL {PairedRounds.PgPerRequest(idempotency.With):F0} µs/request"),
            $"POST /api/predictions without the header ({idempotency.Without.Count} × {options.DurationSeconds} s)",
            string.Create(inv, $"main instance, alternating with the previous row; PostgreSQL {PairedRounds.PgPerRequest(idempotency.Without):F0} µs/request"),
            "Idempotency-Key cost per prediction", "one instance with and without the header in turn, in ABBA order",
            string.Create(inv, $"; PostgreSQL CPU per request {idempotency.PostgresCost:+0.0 %;-0.0 %} (the key's INSERT and UPDATE)"));
        scrapes.Sort();
        sb.AppendLine(string.Create(inv, $"| sidecar /metrics under the POST load ({scrapes.Count} scrapes) | | {Percentile(scrapes, 0.5):F1} ms | {Percentile(scrapes, 0.99):F1} ms | 0 | | target < 50 ms: max {scrapes[^1] / 50:P0} of it | max {scrapes[^1]:F1} ms |"));
        var ingested = ingest.RowsPerSecond.Order().ToList();
        sb.AppendLine(string.Create(inv, $"| batch ingest, {options.BatchRows:N0}-row CSV upload | **{ingest.Median:N0} rows/s** | | | 0 | | **{ingest.Median / ceilings.PsqlRowsPerSecond:P0}** of psql `\\copy` | median of {ingested.Count} after a warm-up upload (from {ingested[0]:N0} to {ingested[^1]:N0}): parse, validate, predict, binary COPY, commit, streamed; CPU per upload: app {ingest.Cpu.Average(c => c.App):F2} s, PostgreSQL {ingest.Cpu.Average(c => c.Postgres):F2} s |"));
        sb.AppendLine(string.Create(inv, $"| psql `\\copy` of the same rows into predictions | {ingest.PsqlRowsPerSecond:N0} rows/s | | | | | the ceiling of batch rows | text COPY from a file, same table, indexes and checks; PostgreSQL {ingest.PsqlPostgres.CpuUsPerRow:F1} µs/row |"));
        sb.AppendLine(string.Create(inv, $"| peak RSS of the app under the {options.LoadSeconds} s POST load | **{peakRssKb / 1024.0:F0} MB** | | | | | target ≤ 150 MB: {peakRssKb / 1024.0 / 150:P0} of it; {peakRssKb * 1024.0 / MemoryLimitBytes:P0} of the 512 MB limit | VmHWM since start {hwmKb / 1024.0:F0} MB |"));
        sb.AppendLine(StartupRow(m.Startups));
        return sb.ToString();
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>The value at rank ⌈p·n⌉ of <paramref name="sorted"/> (ascending), NaN when it is empty.</summary>
    internal static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>vigie_http_requests_total summed by status over the sidecars of <paramref name="sidecars"/>.</summary>
    private static async Task<Dictionary<string, double>> StatusCountsAsync(HttpClient http, IEnumerable<Uri> sidecars)
    {
        var counts = new Dictionary<string, double>();
        var expositions = await Task.WhenAll(sidecars.Select(sidecar => http.GetStringAsync(sidecar)));
        foreach (var line in expositions.SelectMany(e => e.Split('\n')).Where(l => l.StartsWith("vigie_http_requests_total{", StringComparison.Ordinal)))
        {
            var status = line[(line.IndexOf("status=\"", StringComparison.Ordinal) + 8)..].Split('"')[0];
            counts[status] = counts.GetValueOrDefault(status) + double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
        return counts;
    }

    /// <summary>Request-summary lines of 201 answers to POST /api/predictions logged since <paramref name="since"/>, in web.log and its archives.</summary>
    private static long CountSummaryLines(string logDirectory, DateTimeOffset since)
    {
        long count = 0;
        foreach (var file in Directory.GetFiles(logDirectory, "web*.log"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                if (!line.Contains("\"StatusCode\":201", StringComparison.Ordinal) || !line.Contains("RequestSummaryLog", StringComparison.Ordinal))
                {
                    continue;
                }
                var entry = JsonDocument.Parse(line).RootElement;
                if (entry.GetProperty("Method").GetString() == "POST" && entry.GetProperty("timestamp").GetDateTimeOffset() >= since)
                {
                    count++;
                }
            }
        }
        return count;
    }

    private static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
}

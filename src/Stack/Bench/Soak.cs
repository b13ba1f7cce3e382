using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Vigie.Stack.Bench;

/// <summary>What <c>dotnet cake --target=Soak</c> (<c>Vigie.Stack soak</c>) runs.</summary>
public sealed record SoakOptions : ThrowawayRunOptions
{
    protected override string Name => "soak";

    /// <summary>How long the load lasts (bounded: at most 24 h).</summary>
    public double Minutes { get; init; } = 5;

    /// <summary>Predictions per second asked for by the client, spread over <see cref="Workers"/> connections.</summary>
    public int Rate { get; init; } = 1000;

    public int Workers { get; init; } = 16;
}

/// <summary>
/// A steady mixed load on the native stack (durable PostgreSQL) for a bounded time: predictions through the API at a
/// fixed rate, with every acknowledged id recorded, history reads, the home page and a 1,000-row batch every 30 s.
/// Reports errors, the app's RSS over time and whether the table holds exactly the acknowledged writes.
/// </summary>
public static class Soak
{
    private sealed record Sample(TimeSpan At, long RssKb, long Requests, long Errors);

    public static Task<int> RunAsync(SoakOptions options, TextWriter console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return ThrowawayStack.RunThenDropDatabaseAsync(options.StateDirectory, () => RunOnStackAsync(options, console, cancellationToken));
    }

    private static async Task<int> RunOnStackAsync(SoakOptions options, TextWriter console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(console);
        var length = TimeSpan.FromMinutes(Math.Clamp(options.Minutes, 0.1, 24 * 60));
        ThrowawayStack.ClearState(options.StateDirectory);
        console.WriteLine($"Soak: {length.TotalMinutes:0.#} min at {options.Rate} predictions/s over {options.Workers} connections, plus reads and a batch every 30 s.");
        await using var stack = await NativeStack.StartAsync(new NativeStackOptions
        {
            RepositoryRoot = options.RepositoryRoot,
            StateDirectory = options.StateDirectory,
            LogDirectory = Path.Combine(options.StateDirectory, "logs"),
            Configuration = options.Configuration,
            DurableDatabase = true,
            // One load generator whose predictions (--rate) and bursts of feedback could pass the per-client write
            // limit (2,000/s by default): the soak measures the app under load, not the limiter.
            AppSettings = new Dictionary<string, string> { ["RateLimits__Writes"] = "0" },
        }, line => console.WriteLine($"  starting {line}"), cancellationToken);

        using var traffic = new Traffic(options, stack, console);
        await traffic.RunAsync(length);
        var stored = await ReadStoredAsync(stack.Database.AdminConnectionString, cancellationToken);
        return await ReportAsync(options, traffic, stored, console, cancellationToken);
    }

    /// <summary>The ids of the API's predictions in the table, and the number of batch rows.</summary>
    private static async Task<(HashSet<long> Ids, long BatchRows)> ReadStoredAsync(string adminConnectionString, CancellationToken cancellationToken)
    {
        var stored = new HashSet<long>();
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var ids = new NpgsqlCommand("SELECT id FROM predictions WHERE channel = 'api'", connection))
        await using (var reader = await ids.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Add(reader.GetInt64(0));
            }
        }
        await using var batches = new NpgsqlCommand("SELECT count(*) FROM predictions WHERE channel = 'batch'", connection);
        return (stored, (long)(await batches.ExecuteScalarAsync(cancellationToken))!);
    }

    /// <summary>Writes the report to artifacts/soak.md and the console; 0 when no error and every acknowledged write is stored once.</summary>
    private static async Task<int> ReportAsync(SoakOptions options, Traffic traffic, (HashSet<long> Ids, long BatchRows) stored, TextWriter console, CancellationToken cancellationToken)
    {
        var (acknowledged, errors, samples, elapsed) = (traffic.Acknowledged, traffic.Errors, traffic.Samples, traffic.Elapsed);
        var (requests, batchRows, duplicateIds) = (traffic.Requests, traffic.BatchRows, traffic.DuplicateIds);
        var missing = acknowledged.Keys.Count(id => !stored.Ids.Contains(id));
        var unacknowledged = stored.Ids.Count(id => !acknowledged.ContainsKey(id));

        var steady = samples.Where(s => s.At >= TimeSpan.FromMinutes(1)).ToList();
        if (steady.Count < 3)
        {
            steady = samples;
        }
        var slope = Slope(steady.Select(s => (s.At.TotalMinutes, s.RssKb / 1024.0)).ToList());
        var sorted = traffic.Latencies.Order().ToList();
        var inv = CultureInfo.InvariantCulture;
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"# Vigie soak\n\n{elapsed.TotalMinutes:F1} min, {Environment.ProcessorCount} cores, durable PostgreSQL; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC\n")
            .AppendLine("| | |")
            .AppendLine("|---|---|")
            .AppendLine(string.Create(inv, $"| requests | {requests:N0} ({requests / elapsed.TotalSeconds:N0}/s): predictions at {acknowledged.Count / elapsed.TotalSeconds:N0}/s, reads, pages, {batchRows / 1000:N0} batches |"))
            .AppendLine(string.Create(inv, $"| errors | {errors.Values.Sum()}{(errors.IsEmpty ? "" : " (" + string.Join(", ", errors.Select(e => $"{e.Key}: {e.Value}")) + ")")} |"))
            .AppendLine(string.Create(inv, $"| POST latency | p50 {Percentile(sorted, 0.5):F1} ms, p99 {Percentile(sorted, 0.99):F1} ms, max {(sorted.Count > 0 ? sorted[^1] : 0):F0} ms |"))
            .AppendLine(string.Create(inv, $"| acknowledged predictions | {acknowledged.Count:N0}; in the table: {stored.Ids.Count:N0}; missing {missing}; stored but unacknowledged {unacknowledged}; ids answered twice {duplicateIds} |"))
            .AppendLine(string.Create(inv, $"| batch rows | {batchRows:N0} acknowledged, {stored.BatchRows:N0} in the table |"))
            .AppendLine(string.Create(inv, $"| app RSS | first sample {samples.FirstOrDefault()?.RssKb / 1024.0:F0} MB, after 1 min {steady.FirstOrDefault()?.RssKb / 1024.0:F0} MB, last {samples.LastOrDefault()?.RssKb / 1024.0:F0} MB, max {samples.Max(s => s.RssKb) / 1024.0:F0} MB (limit 512 MB); trend after the first minute {slope:+0.00;-0.00} MB/min |"))
            .ToString();
        Directory.CreateDirectory(Path.GetDirectoryName(options.Output)!);
        await File.WriteAllTextAsync(options.Output, report, cancellationToken);
        console.WriteLine();
        console.WriteLine(report);
        console.WriteLine($"Written to {Path.GetRelativePath(options.RepositoryRoot, options.Output)}");
        var ok = errors.IsEmpty && missing == 0 && unacknowledged == 0 && duplicateIds == 0 && stored.BatchRows == batchRows && samples.Max(s => s.RssKb) * 1024L < 512L * 1024 * 1024;
        console.WriteLine(ok ? "Soak: no error, every acknowledged write stored once." : "Soak checks FAILED (see above).");
        return ok ? 0 : 1;
    }

    /// <summary>
    /// The soak's client: <see cref="SoakOptions.Workers"/> writers at the asked rate, readers of the history, the home
    /// page and the history page, a batch upload every 30 s and an RSS sample every 5 s; it records every acknowledged
    /// id, every error and every POST latency.
    /// </summary>
    private sealed class Traffic(SoakOptions options, NativeStack stack, TextWriter console) : IDisposable
    {
        private readonly SocketsHttpHandler _handler = new() { PooledConnectionLifetime = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = options.Workers + 4 };
        private readonly Stopwatch _clock = new();
        private readonly byte[] _csv = BatchIngest.Csv(1000);
        private HttpClient? _http;
        private CancellationTokenSource? _stop;
        private long _requests, _batchRows, _duplicateIds;

        public ConcurrentDictionary<long, byte> Acknowledged { get; } = new();
        public ConcurrentDictionary<string, int> Errors { get; } = new();
        public ConcurrentBag<double> Latencies { get; } = [];
        public List<Sample> Samples { get; } = [];
        public TimeSpan Elapsed { get; private set; }
        public long Requests => Interlocked.Read(ref _requests);
        public long BatchRows => Interlocked.Read(ref _batchRows);
        public long DuplicateIds => Interlocked.Read(ref _duplicateIds);

        private HttpClient Http => _http!;
        private CancellationToken Stopping => _stop!.Token;

        public async Task RunAsync(TimeSpan length)
        {
            _http = new HttpClient(_handler, disposeHandler: false) { BaseAddress = stack.WebUrl, Timeout = TimeSpan.FromSeconds(30) };
            _stop = new CancellationTokenSource(length);
            _clock.Start();
            var interval = TimeSpan.FromSeconds((double)options.Workers / options.Rate);
            var workers = Enumerable.Range(0, options.Workers).Select(worker => Task.Run(() => WriteAsync(worker, interval))).ToList();
            var background = new List<Task>
            {
                EveryAsync(TimeSpan.FromMilliseconds(200), () => GetAsync("/api/predictions?limit=50")),
                EveryAsync(TimeSpan.FromSeconds(1), () => GetAsync("/")),
                EveryAsync(TimeSpan.FromSeconds(1), () => GetAsync("/History")),
                EveryAsync(TimeSpan.FromSeconds(30), UploadBatchAsync),
                EveryAsync(TimeSpan.FromSeconds(5), () =>
                {
                    TakeSample();
                    return Task.CompletedTask;
                }),
            };
            await Task.WhenAll(workers);
            await Task.WhenAll(background);
            Elapsed = _clock.Elapsed;
        }

        public void Dispose()
        {
            _http?.Dispose();
            _stop?.Dispose();
            _handler.Dispose();
        }

        private void Error(string what) => Errors.AddOrUpdate(what, 1, (_, n) => n + 1);

        // One writer: a prediction every interval, at a random phase so the writers do not send in step.
        private async Task WriteAsync(int worker, TimeSpan interval)
        {
            var random = new Random(worker);
            var next = _clock.Elapsed + interval * random.NextDouble();
            while (!Stopping.IsCancellationRequested)
            {
                var wait = next - _clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, Stopping);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
                next += interval;
                var body = new { billLengthMm = random.Next(340, 560) / 10.0, billDepthMm = random.Next(135, 205) / 10.0, flipperLengthMm = random.Next(175, 230), bodyMassG = random.Next(28, 63) * 100 };
                var started = Stopwatch.GetTimestamp();
                try
                {
                    // Not cancelled by the end of the run: a request sent is answered, so every write is either acknowledged or an error.
                    using var response = await Http.PostAsJsonAsync("/api/predictions", body, CancellationToken.None);
                    Interlocked.Increment(ref _requests);
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        var id = (await response.Content.ReadFromJsonAsync<JsonElement>(CancellationToken.None)).GetProperty("id").GetInt64();
                        if (!Acknowledged.TryAdd(id, 0))
                        {
                            Interlocked.Increment(ref _duplicateIds);
                        }
                        Latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                    else
                    {
                        Error($"POST {(int)response.StatusCode}");
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref _requests);
                    Error($"POST {ex.GetType().Name}");
                }
            }
        }

        private async Task EveryAsync(TimeSpan period, Func<Task> action)
        {
            while (!Stopping.IsCancellationRequested)
            {
                try
                {
                    await action();
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
                {
                    Error($"{ex.GetType().Name}");
                }
                try
                {
                    await Task.Delay(period, Stopping);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        private async Task GetAsync(string path)
        {
            using var response = await Http.GetAsync(new Uri(path, UriKind.Relative), CancellationToken.None);
            await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
            Interlocked.Increment(ref _requests);
            if (!response.IsSuccessStatusCode)
            {
                Error($"GET {path} {(int)response.StatusCode}");
            }
        }

        private async Task UploadBatchAsync()
        {
            using var form = new MultipartFormDataContent();
            var file = new ByteArrayContent(_csv);
            file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            form.Add(file, "file", "soak.csv");
            using var response = await Http.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), form, CancellationToken.None);
            Interlocked.Increment(ref _requests);
            if (response.IsSuccessStatusCode)
            {
                Interlocked.Add(ref _batchRows, (await response.Content.ReadFromJsonAsync<JsonElement>(CancellationToken.None)).GetProperty("accepted").GetInt32());
            }
            else
            {
                Error($"POST batch {(int)response.StatusCode}");
            }
        }

        private void TakeSample()
        {
            var sample = new Sample(_clock.Elapsed, ProcFs.StatusKb(stack.App.Id, "VmRSS") ?? 0, Requests, Errors.Values.Sum());
            Samples.Add(sample);
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {sample.At:mm\\:ss}  RSS {sample.RssKb / 1024.0,6:F1} MB  requests {sample.Requests,9:N0}  errors {sample.Errors}"));
        }
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>Least-squares slope of y over x.</summary>
    private static double Slope(List<(double X, double Y)> points)
    {
        if (points.Count < 2)
        {
            return 0;
        }
        var mx = points.Average(p => p.X);
        var my = points.Average(p => p.Y);
        var den = points.Sum(p => (p.X - mx) * (p.X - mx));
        return den == 0 ? 0 : points.Sum(p => (p.X - mx) * (p.Y - my)) / den;
    }
}

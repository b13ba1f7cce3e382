using System.Text.Json;

namespace Vigie.Stack.Bench;

/// <summary>Sampled time of one category or method, and its share of all the samples on the CPU.</summary>
public sealed record SampledShare(string Name, double Milliseconds, double Share);

/// <summary>
/// What a thread-time profile of the app says about its CPU: samples on the CPU (waits left out) by category of code,
/// and the methods that were running (exclusive time), costliest first.
/// </summary>
public sealed record SpeedscopeSummary(double OnCpuMilliseconds, double WaitingMilliseconds, IReadOnlyList<SampledShare> Categories, IReadOnlyList<SampledShare> TopMethods)
{
    /// <summary>
    /// The pseudo-frames dotnet-trace's converter puts under the sampled stack: the thread was running managed code
    /// (<c>CPU_TIME</c>) or was in native code (<c>UNMANAGED_CODE_TIME</c>: a system call, the runtime, or a wait).
    /// </summary>
    public const string ManagedLeaf = "CPU_TIME";
    public const string NativeLeaf = "UNMANAGED_CODE_TIME";

    /// <summary>Category of a sample whose stack shows no known component.</summary>
    public const string Other = "other";

    // Components, checked from the running frame outwards: the innermost frame that belongs to one names the sample's
    // category (a Dictionary lookup inside Npgsql is Npgsql's time). Matched on the method's full name, after "module!".
    private static readonly (string Category, string[] Prefixes)[] Components =
    [
        ("model scoring (Microsoft.ML)", ["Microsoft.ML", "Vigie.Web.Classifier.SpeciesModel", "Vigie.Web.Classifier.ModelHolder"]),
        ("drift & model honesty", ["Vigie.Web.Classifier.DriftMonitor", "Vigie.Web.Classifier.TrainingProfile", "Vigie.Web.Classifier.Calibration", "Vigie.Web.Classifier.OutOfDistribution", "Vigie.Web.Features.Models.Shadow"]),
        ("Npgsql & the group writer", ["Npgsql", "Dapper", "Vigie.Web.Features.Predictions.PredictionWriter", "Vigie.Web.Features.Predictions.PredictionStore", "Vigie.Web.Infrastructure.Database"]),
        ("NLog logging", ["NLog", "Microsoft.Extensions.Logging", "Vigie.Web.Infrastructure.Logging"]),
        ("prometheus-net metrics", ["Prometheus", "Vigie.Metrics", "Vigie.Web.Infrastructure.Telemetry", "System.Diagnostics.Metrics"]),
        ("JSON (de)serialisation", ["System.Text.Json", "Microsoft.AspNetCore.Http.HttpRequestJsonExtensions", "Microsoft.AspNetCore.Http.HttpResponseJsonExtensions", "Microsoft.AspNetCore.Http.Json"]),
        ("validation", ["System.ComponentModel.DataAnnotations", "Microsoft.Extensions.Validation", "Vigie.Web.Features.Predictions.PredictionRequest.Validate"]),
        ("routing & middleware", ["Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Http.RequestDelegateFactory", "Microsoft.AspNetCore.Http.Generated",
            "Microsoft.AspNetCore.RateLimiting", "System.Threading.RateLimiting", "Microsoft.AspNetCore.Diagnostics", "Microsoft.AspNetCore.HostFiltering", "Microsoft.AspNetCore.Hosting",
            "Microsoft.AspNetCore.Authorization", "Microsoft.AspNetCore.Authentication", "Microsoft.AspNetCore.Antiforgery", "Microsoft.AspNetCore.StaticFiles",
            "Microsoft.AspNetCore.Mvc", "Microsoft.AspNetCore.Http.Result", "Microsoft.AspNetCore.Http.HttpResults", "Vigie.Web.Infrastructure"]),
        ("Kestrel & HTTP", ["Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http", "Microsoft.AspNetCore.Connections", "Microsoft.Extensions.Primitives"]),
        ("Vigie's prediction endpoint & service", ["Vigie.Web"]),
    ];

    // Plumbing shared by every component: it names the sample only when no component does (the socket engine's own
    // thread, a thread-pool dispatch between two work items).
    private static readonly (string Category, string[] Prefixes)[] Plumbing =
    [
        ("sockets & pipes (Kestrel's and Npgsql's)", ["System.Net.Sockets", "System.IO.Pipelines", "Interop+Sys", "System.Net"]),
        ("thread pool & async scheduling", ["System.Threading", "System.Runtime.CompilerServices"]),
    ];

    // Native code under these frames is a thread waiting (for work, a socket event, a timer, a file change), not using
    // the CPU. The socket engine's loop and the pool's worker loop wait in native code they call directly (epoll, the
    // semaphore inlined); under them, managed frames are work.
    private static readonly string[] Waits =
    [
        "System.Net.Sockets.SocketAsyncEngine.EventLoop", "System.Threading.PortableThreadPool+WorkerThread.WorkerThreadStart",
        "System.Threading.LowLevelLifoSemaphore.Wait", "System.Threading.LowLevelMonitor.Wait", "System.Threading.Monitor.Wait", "System.Threading.Thread.Sleep",
        "System.Threading.WaitHandle.Wait", "System.Threading.Thread.Join", "System.Threading.WaitSubsystem", "Interop+Sys.WaitForSocketEvents", "Interop+Sys.Poll",
        "Interop+Sys.LowLevelMonitor_Wait", "Interop+Sys.LowLevelMonitor_TimedWait", "System.Threading.ManualResetEventSlim.Wait", "System.Threading.SemaphoreSlim.Wait",
        "System.Threading.Tasks.Task.Wait", "System.Threading.Tasks.Task.SpinThenBlockingWait", "System.Threading.Tasks.Task.InternalWaitCore",
    ];

    // Threads that only wait in native code (a file watcher blocked reading inotify), wherever in their loop.
    private static readonly string[] WaitingThreads = ["System.IO.FileSystemWatcher"];

    // A thread stopped at a safe point while the GC runs: the GC's time, on its own threads, not this one's.
    private const string PausedForGc = "System.Threading.Thread.<PollGC>";

    // The converter's name of a frame it could not resolve (the stub of a call into native code).
    private const string Unresolved = "?";

    /// <summary>Summarises a speedscope file as written by <c>dotnet-trace convert --format Speedscope</c> (evented or sampled profiles, one per thread).</summary>
    public static SpeedscopeSummary Read(string json, int topMethods = 15)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var frames = root.GetProperty("shared").GetProperty("frames").EnumerateArray().Select(f => f.GetProperty("name").GetString() ?? string.Empty).ToArray();
        var categories = new Dictionary<string, double>(StringComparer.Ordinal);
        var methods = new Dictionary<string, double>(StringComparer.Ordinal);
        double onCpu = 0, waiting = 0;

        void Add(List<int> stack, double milliseconds)
        {
            // stack: root first, the pseudo-frame last.
            if (milliseconds <= 0 || stack.Count < 2)
            {
                return;
            }
            var leaf = frames[stack[^1]];
            if (leaf is not (ManagedLeaf or NativeLeaf))
            {
                return;
            }
            var names = stack.Take(stack.Count - 1).Select(i => MethodName(frames[i])).ToList();
            // A stub into native code the converter could not name is native code too, even when the sampler saw the
            // thread still in managed mode there (the socket engine's epoll call showed up so: 14 % "on the CPU").
            if (IsWaiting(names, native: leaf == NativeLeaf || names[^1] == Unresolved))
            {
                waiting += milliseconds;
                return;
            }
            onCpu += milliseconds;
            var category = Categorise(names);
            categories[category] = categories.GetValueOrDefault(category) + milliseconds;
            var innermost = InnermostResolved(names);
            var running = innermost is null ? "(unknown)" : innermost + (leaf == NativeLeaf || names[^1] == Unresolved ? " [native]" : string.Empty);
            methods[running] = methods.GetValueOrDefault(running) + milliseconds;
        }

        foreach (var profile in root.GetProperty("profiles").EnumerateArray())
        {
            if (profile.GetProperty("type").GetString() == "evented")
            {
                var open = new List<int>();
                var openedAt = new List<double>();
                foreach (var e in profile.GetProperty("events").EnumerateArray())
                {
                    var frame = e.GetProperty("frame").GetInt32();
                    var at = e.GetProperty("at").GetDouble();
                    if (e.GetProperty("type").GetString() == "O")
                    {
                        open.Add(frame);
                        openedAt.Add(at);
                        continue;
                    }
                    if (open.Count == 0 || open[^1] != frame)
                    {
                        throw new FormatException($"Speedscope event closes frame {frame}, which is not the innermost open frame.");
                    }
                    Add(open, at - openedAt[^1]);
                    open.RemoveAt(open.Count - 1);
                    openedAt.RemoveAt(openedAt.Count - 1);
                }
            }
            else
            {
                var weights = profile.GetProperty("weights").EnumerateArray().Select(w => w.GetDouble()).ToList();
                var i = 0;
                foreach (var sample in profile.GetProperty("samples").EnumerateArray())
                {
                    Add(sample.EnumerateArray().Select(f => f.GetInt32()).ToList(), weights[i++]);
                }
            }
        }
        SampledShare Share(KeyValuePair<string, double> kv) => new(kv.Key, kv.Value, onCpu == 0 ? 0 : kv.Value / onCpu);
        return new SpeedscopeSummary(onCpu, waiting,
            categories.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(Share).ToList(),
            methods.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(topMethods).Select(Share).ToList());
    }

    /// <summary>
    /// The category of a sample whose stack is <paramref name="stack"/> (method names, outermost first): the innermost
    /// frame of a known component, else the innermost frame of shared plumbing, else <see cref="Other"/>.
    /// </summary>
    public static string Categorise(IReadOnlyList<string> stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        return Innermost(stack, Components) ?? Innermost(stack, Plumbing) ?? Other;
    }

    /// <summary>
    /// True when a sample of <paramref name="stack"/> (method names, outermost first) is a thread not using the CPU: in
    /// <paramref name="native"/> code under a known wait (its innermost resolved frame) or on a thread that only waits
    /// there, or paused for the GC.
    /// </summary>
    public static bool IsWaiting(IReadOnlyList<string> stack, bool native)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var innermost = InnermostResolved(stack);
        return innermost is not null && (innermost.StartsWith(PausedForGc, StringComparison.Ordinal)
            || (native && (Waits.Any(w => innermost.StartsWith(w, StringComparison.Ordinal))
                || stack.Any(frame => WaitingThreads.Any(t => frame.StartsWith(t, StringComparison.Ordinal))))));
    }

    private static string? InnermostResolved(IReadOnlyList<string> stack) => stack.LastOrDefault(name => name != Unresolved);

    private static string? Innermost(IReadOnlyList<string> stack, (string Category, string[] Prefixes)[] rules)
    {
        for (var i = stack.Count - 1; i >= 0; i--)
        {
            foreach (var (category, prefixes) in rules)
            {
                if (prefixes.Any(p => stack[i].StartsWith(p, StringComparison.Ordinal)))
                {
                    return category;
                }
            }
        }
        return null;
    }

    // "Module!Namespace.Type.Method(args)" → "Namespace.Type.Method(args)"; pseudo-frames ("Thread (123)") unchanged.
    private static string MethodName(string frame)
    {
        var bang = frame.IndexOf('!', StringComparison.Ordinal);
        return bang < 0 ? frame : frame[(bang + 1)..];
    }
}

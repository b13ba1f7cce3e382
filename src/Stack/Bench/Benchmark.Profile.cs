using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Vigie.Stack.Bench;

public static partial class Benchmark
{
    /// <summary>Seconds of the profiled prediction load, and of the trace taken in its middle.</summary>
    private const int ProfiledLoadSeconds = 20, TracedSeconds = 15;

    // .NET names its own native threads; their CPU is exact in /proc, and the sampler (managed stacks) never sees it.
    private static readonly string[] GcThreads = [".NET Server GC", ".NET BGC"];
    private static readonly string[] JitThreads = [".NET Tiered Com"];

    /// <summary>
    /// Where the app's CPU per prediction goes: the samples of a thread-time trace by category, scaled to the app CPU per
    /// request of the untraced load (<c>Load</c>) once the GC's and the JIT's own threads
    /// (read from /proc over the trace) are set apart.
    /// </summary>
    private sealed record CpuBreakdown(SpeedscopeSummary Samples, double GcShare, double JitShare, Run Load, string TracePath, WrkResult Run)
    {
        public double SampledShare => 1 - GcShare - JitShare;

        public double AppCpuUsPerRequest => Load.AppCpuUsPerRequest;
    }

    /// <summary>
    /// A separate prediction load of <see cref="ProfiledLoadSeconds"/> s on the main instance (so the sampler's own cost
    /// stays out of the table's figures) with a <c>dotnet-trace</c> thread-time trace of its middle <see cref="TracedSeconds"/>
    /// s, converted to speedscope offline; the raw trace and the speedscope file stay in artifacts/.
    /// </summary>
    private static async Task<CpuBreakdown> ProfileAsync(Session session, Run untraced)
    {
        var (options, console, token, pid) = (session.Options, session.Console, session.CancellationToken, session.Stack.App.Id);
        var artifacts = Path.GetDirectoryName(options.Output)!;
        Directory.CreateDirectory(artifacts);
        var trace = Path.Combine(artifacts, "bench-cpu.nettrace");
        console.WriteLine($"Profiling the app under the prediction load ({TracedSeconds} s of dotnet-trace in a {ProfiledLoadSeconds} s run)…");
        var load = session.LoadAsync(TimeSpan.FromSeconds(ProfiledLoadSeconds));
        await Task.Delay(TimeSpan.FromSeconds((ProfiledLoadSeconds - TracedSeconds) / 2.0), token);
        var (app0, gc0, jit0) = (ProcFs.CpuTicks(pid), ProcFs.ThreadTicks(pid, GcThreads), ProcFs.ThreadTicks(pid, JitThreads));
        await DotnetTraceAsync(options.RepositoryRoot, token, "collect", "--process-id", pid.ToString(CultureInfo.InvariantCulture), "--profile", "dotnet-sampled-thread-time",
            "--duration", $"00:00:00:{TracedSeconds.ToString(CultureInfo.InvariantCulture)}", "--output", trace);
        double app = ProcFs.CpuTicks(pid) - app0, gc = ProcFs.ThreadTicks(pid, GcThreads) - gc0, jit = ProcFs.ThreadTicks(pid, JitThreads) - jit0;
        var run = await load;
        session.WarmUps.Add(run);
        await DotnetTraceAsync(options.RepositoryRoot, token, "convert", trace, "--format", "Speedscope", "--output", Path.ChangeExtension(trace, null));
        var speedscope = Path.ChangeExtension(trace, ".speedscope.json");
        var samples = SpeedscopeSummary.Read(await File.ReadAllTextAsync(speedscope, token));
        var breakdown = new CpuBreakdown(samples, gc / Math.Max(1, app), jit / Math.Max(1, app), untraced, Path.GetRelativePath(options.RepositoryRoot, trace), run);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  profiled run {run.RequestsPerSecond:N0} req/s (tracing costs the app); {samples.OnCpuMilliseconds / 1000:F1} s of samples on the CPU, GC threads {breakdown.GcShare:P1} and JIT {breakdown.JitShare:P1} of the app's CPU; trace in {breakdown.TracePath}"));
        return breakdown;
    }

    /// <summary>Runs the repository's pinned dotnet-trace (<c>.config/dotnet-tools.json</c>, installed by <c>dotnet tool restore</c>).</summary>
    private static async Task DotnetTraceAsync(string repositoryRoot, CancellationToken cancellationToken, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = repositoryRoot };
        foreach (var argument in (string[])["tool", "run", "dotnet-trace", .. arguments])
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start dotnet-trace.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet-trace {string.Join(' ', arguments)} failed ({process.ExitCode}); run `dotnet tool restore` first? {await error}{await output}");
        }
    }

    /// <summary>The CPU breakdown's two tables: by category, then the methods running most often.</summary>
    private static string CpuTable(CpuBreakdown cpu)
    {
        var inv = CultureInfo.InvariantCulture;
        var perRequest = cpu.AppCpuUsPerRequest;
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(inv,
            $"App CPU per `POST /api/predictions` ({perRequest:F0} µs in the untraced run \"{cpu.Load.Name}\" above) by where it goes: the GC's and the JIT's own threads from /proc during the trace, the rest by the samples of a `dotnet-trace` thread-time trace ({TracedSeconds} s of a separate {ProfiledLoadSeconds} s load that reached {cpu.Run.RequestsPerSecond:N0} req/s; {cpu.Samples.OnCpuMilliseconds / 1000:F1} s of samples on the CPU, {cpu.Samples.WaitingMilliseconds / 1000:F1} s of threads waiting left out). The sampler sees managed threads only, about every 10 ms, running or ready to run: shares, not exact times. A sample is counted for the innermost component on its stack; raw trace `{cpu.TracePath}` (the `.speedscope.json` beside it opens in speedscope)."));
        sb.AppendLine();
        sb.AppendLine("| where the app's CPU goes | share of app CPU | µs / request | measured by |");
        sb.AppendLine("|---|---:|---:|---|");
        sb.AppendLine(string.Create(inv, $"| GC (the runtime's GC threads) | {cpu.GcShare:P1} | {cpu.GcShare * perRequest:F1} | /proc: threads `.NET Server GC`, `.NET BGC` |"));
        sb.AppendLine(string.Create(inv, $"| JIT (tiered compilation thread) | {cpu.JitShare:P1} | {cpu.JitShare * perRequest:F1} | /proc: thread `.NET Tiered Com` |"));
        foreach (var category in cpu.Samples.Categories)
        {
            var share = category.Share * cpu.SampledShare;
            sb.AppendLine(string.Create(inv, $"| {category.Name} | {share:P1} | {share * perRequest:F1} | samples ({category.Share:P1} of those on the CPU) |"));
        }
        sb.AppendLine();
        sb.AppendLine("| method running (exclusive samples; [native] = in native code called from it) | share of samples on the CPU | µs / request |");
        sb.AppendLine("|---|---:|---:|");
        foreach (var method in cpu.Samples.TopMethods)
        {
            sb.AppendLine(string.Create(inv, $"| `{WithoutParameters(method.Name).Replace("|", "¦", StringComparison.Ordinal)}` | {method.Share:P1} | {method.Share * cpu.SampledShare * perRequest:F2} |"));
        }
        return sb.ToString();
    }

    // "Type.Method(class A, value class B) [native]" → "Type.Method(…) [native]": the table stays readable; the trace has the rest.
    private static string WithoutParameters(string method)
    {
        var (open, close) = (method.IndexOf('(', StringComparison.Ordinal), method.LastIndexOf(')'));
        return open < 0 || close <= open + 1 ? method : method[..(open + 1)] + "…" + method[close..];
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Vigie.Stack.Bench;

/// <summary>One wrk run as its summary line reports it (latencies in milliseconds).</summary>
public sealed record WrkResult(long Requests, double DurationSeconds, long ConnectErrors, long ReadErrors, long WriteErrors, long StatusErrors, long Timeouts,
    double P50Ms, double P90Ms, double P99Ms, double MaxMs)
{
    public double RequestsPerSecond => Requests / DurationSeconds;

    /// <summary>Answers of status 400 or more, and requests that failed at the socket or timed out.</summary>
    public long Failures => ConnectErrors + ReadErrors + WriteErrors + StatusErrors + Timeouts;

    /// <summary>Requests answered without failure: for a POST run, the acknowledged writes.</summary>
    public long Succeeded => Requests - StatusErrors;
}

/// <summary>Runs wrk (the HTTP load generator) against 127.0.0.1 with the benchmark's Lua scripts.</summary>
public static class Wrk
{
    public static string Executable => Executables.Require(["wrk"], "wrk");

    /// <summary>
    /// Runs <c>wrk -t threads -c connections -d duration --latency</c> on <paramref name="url"/> with
    /// <paramref name="script"/> (a file of <paramref name="scripts"/>, or none for a plain GET) plus summary.lua.
    /// </summary>
    public static async Task<WrkResult> RunAsync(Uri url, string scripts, string? script, int threads, int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsLoopback)
        {
            throw new ArgumentException("The benchmark only loads 127.0.0.1.", nameof(url));
        }
        var combined = Path.Combine(Path.GetTempPath(), $"vigie-wrk-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(combined,
            (script is null ? string.Empty : await File.ReadAllTextAsync(Path.Combine(scripts, script), cancellationToken) + "\n")
            + await File.ReadAllTextAsync(Path.Combine(scripts, "summary.lua"), cancellationToken), cancellationToken);
        try
        {
            var info = new ProcessStartInfo(Executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[]
            {
                "-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
                "-d", ((int)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s", "--timeout", "10s", "--latency", "-s", combined, url.ToString(),
            })
            {
                info.ArgumentList.Add(argument);
            }
            using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start wrk.");
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(duration + TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            var text = await output;
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("WRK_SUMMARY ", StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"wrk printed no summary (exit {process.ExitCode}): {text}{await error}");
            var summary = JsonDocument.Parse(line["WRK_SUMMARY ".Length..]).RootElement;
            long L(string name) => summary.GetProperty(name).GetInt64();
            return new WrkResult(L("requests"), L("durationUs") / 1e6, L("connectErrors"), L("readErrors"), L("writeErrors"), L("statusErrors"), L("timeouts"),
                L("p50Us") / 1000.0, L("p90Us") / 1000.0, L("p99Us") / 1000.0, L("maxUs") / 1000.0);
        }
        finally
        {
            File.Delete(combined);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Runner;

/// <summary>
/// The real runner behind <c>dotnet cake --target=Native</c> (<c>Vigie.Stack up</c>) as a process, on its own state
/// directory and free ports, so a test sees what a person sees in the terminal: its output and its exit code.
/// </summary>
public sealed class ForegroundRunner : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ForegroundRunner(Process process, string stateDirectory)
    {
        _process = process;
        StateDirectory = stateDirectory;
    }

    public string StateDirectory { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the runner printed so far (standard output and error, interleaved).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>A new state directory that PostgreSQL's own user can reach when the tests run as root.</summary>
    public static string NewStateDirectory()
    {
        var state = Directory.CreateTempSubdirectory("vigie-runner-").FullName;
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(state, File.GetUnixFileMode(state) | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        return state;
    }

    /// <summary>Starts <c>Vigie.Stack <paramref name="command"/> --state <paramref name="stateDirectory"/></c> plus <paramref name="extra"/>.</summary>
    public static ForegroundRunner Start(string command, string stateDirectory, params string[] extra)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Infrastructure.RepositoryRoot,
        };
        foreach (var argument in new[] { StackAssembly, command, "--state", stateDirectory }.Concat(extra))
        {
            info.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = info };
        var runner = new ForegroundRunner(process, stateDirectory);
        process.OutputDataReceived += (_, e) => runner.Append(e.Data);
        process.ErrorDataReceived += (_, e) => runner.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return runner;
    }

    /// <summary>Starts <c>up</c> on free ports and waits until it says the stack runs.</summary>
    public static async Task<ForegroundRunner> UpAsync(string stateDirectory)
    {
        var runner = Start("up", stateDirectory, "--configuration", Infrastructure.BuildConfiguration, "--logs", Path.Combine(stateDirectory, "logs"), "--free-ports");
        try
        {
            await runner.WaitForOutputAsync("Press Ctrl+C to stop everything.", TimeSpan.FromMinutes(5));
        }
        catch
        {
            await runner.DisposeAsync();
            throw;
        }
        return runner;
    }

    /// <summary>Runs a command of the runner on <paramref name="stateDirectory"/> to its end.</summary>
    public static Task<ProcessRunner.Result> RunAsync(string command, string stateDirectory, params string[] extra) =>
        ProcessRunner.RunAsync("dotnet", [StackAssembly, command, "--state", stateDirectory, .. extra], timeout: TimeSpan.FromMinutes(3));

    /// <summary>Waits until the runner has printed <paramref name="text"/>; fails with its output when it exits first or the bound passes.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The runner did not print '{text}' ({(_process.HasExited ? "it exited with " + _process.ExitCode : "still running")}):\n{Output}");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>Waits for the runner to exit (failing the test past <paramref name="bound"/>) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan bound)
    {
        using var cancel = new CancellationTokenSource(bound);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The runner was still running after {bound.TotalSeconds:0} s:\n{Output}");
        }
        return _process.ExitCode;
    }

    /// <summary>Sends SIGINT, as Ctrl+C does.</summary>
    public void Interrupt() => Signal(_process.Id, "INT");

    /// <summary>The URL the runner published for the app.</summary>
    public Uri WebUrl => new(StackClaim.Endpoints(StateDirectory)?["web"] ?? throw new InvalidOperationException("no endpoints published:\n" + Output));

    /// <summary>Stops the runner if it still runs (Ctrl+C, then kill), stops whatever it left, removes its state.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Interrupt();
            using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            try
            {
                await _process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
        await RunAsync("down", StateDirectory);
        Directory.Delete(StateDirectory, recursive: true);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        TestContext.Progress.WriteLine("  runner: " + line);
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static string StackAssembly => Path.Combine(Infrastructure.RepositoryRoot, "src", "Stack", "bin", Infrastructure.BuildConfiguration, "net10.0", "Vigie.Stack.dll");

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
        kill?.WaitForExit();
    }
}

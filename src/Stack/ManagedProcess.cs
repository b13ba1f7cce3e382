using System.Diagnostics;

namespace Vigie.Stack;

/// <summary>
/// A server process started by the native stack or a test: its output goes to a log file, and disposing it stops
/// it (SIGTERM, then kill of the whole tree after a grace period) so nothing is left behind.
/// </summary>
public sealed class ManagedProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ManagedProcess(string name, Process process, StreamWriter log)
    {
        Name = name;
        _process = process;
        _log = log;
    }

    public string Name { get; }

    public string LogPath { get; private init; } = string.Empty;

    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    /// <summary>The exit code once the process has exited (128 + the signal's number when a signal ended it), else null.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/>, logging to <paramref name="logPath"/>.</summary>
    public static ManagedProcess Start(string name, string fileName, IEnumerable<string> arguments, string logPath,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        // Flushed once a second, not per line: a busy app logs a line per request, and a write per line would cost the
        // machine's CPU (the benchmark's app shares it) for nothing; Tail and Dispose flush.
        var log = new StreamWriter(logPath, append: true) { AutoFlush = false };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {fileName}.");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var managed = new ManagedProcess(name, process, log) { LogPath = logPath };
        managed._flush = new Timer(_ => managed.FlushLog(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        return managed;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output that arrives after the process was stopped is dropped.
            }
        }
    }

    private Timer? _flush;

    private void FlushLog()
    {
        lock (_log)
        {
            try
            {
                _log.Flush();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>The last lines of the process's log, for error messages.</summary>
    public string Tail(int lines = 20)
    {
        lock (_log)
        {
            _log.Flush();
        }
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return string.Join(Environment.NewLine, reader.ReadToEnd().Split('\n').TakeLast(lines));
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>Asks the process to stop and waits; kills it (and its children) when it does not stop in time.</summary>
    public void Stop(TimeSpan? grace = null)
    {
        if (!_process.HasExited)
        {
            try
            {
                Signal(_process.Id, "TERM");
                if (!_process.WaitForExit(grace ?? TimeSpan.FromSeconds(10)))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(TimeSpan.FromSeconds(5));
                }
            }
            catch (InvalidOperationException)
            {
                // Exited between the check and the signal.
            }
        }
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Stop();
        _flush?.Dispose();
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
        kill?.WaitForExit();
    }
}

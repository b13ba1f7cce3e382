using System.Globalization;
using Vigie.Stack.Bench;

namespace Vigie.Stack;

/// <summary>
/// The app alone, run from its build output as the native stack runs it, on a database it is given: for tests that must
/// see the app as the kernel sees it (its resident memory, a heap limit, a crash), which an app hosted inside the test
/// process cannot show. Disposing it stops the process and removes its state directory.
/// </summary>
public sealed class AppProcess : IDisposable
{
    private readonly string _stateDirectory;

    private AppProcess(ManagedProcess process, Uri url, string stateDirectory)
    {
        Process = process;
        Url = url;
        _stateDirectory = stateDirectory;
    }

    public ManagedProcess Process { get; }

    /// <summary>The app's public address on 127.0.0.1.</summary>
    public Uri Url { get; }

    /// <summary>Resident memory now (VmRSS), in bytes; 0 once the process is gone.</summary>
    public long ResidentBytes => (ProcFs.StatusKb(Process.Id, "VmRSS") ?? 0) * 1024;

    /// <summary>The highest resident memory since the last <see cref="ResetPeak"/> (VmHWM), in bytes; 0 once the process is gone.</summary>
    public long PeakResidentBytes => (ProcFs.StatusKb(Process.Id, "VmHWM") ?? 0) * 1024;

    /// <summary>Starts the peak (VmHWM) again from the current resident memory.</summary>
    public void ResetPeak() => ProcFs.ResetPeakResident(Process.Id);

    /// <summary>
    /// Starts the app built in <paramref name="configuration"/> on <paramref name="connectionString"/> with
    /// <paramref name="environment"/> (configuration keys with <c>__</c>, or runtime variables such as
    /// <c>DOTNET_GCHeapHardLimit</c>) and waits until <c>/health/ready</c> answers.
    /// </summary>
    public static async Task<AppProcess> StartAsync(string repositoryRoot, string configuration, string connectionString,
        IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var assembly = NativeStackOptions.WebAssemblyOf(repositoryRoot, configuration);
        if (!File.Exists(assembly))
        {
            throw new InvalidOperationException($"{assembly} is not built: run `dotnet build -c {configuration}` first.");
        }
        var state = Directory.CreateTempSubdirectory("vigie-app-").FullName;
        var webPort = FreePort.Next();
        var all = NativeStack.AppProcessEnvironment(repositoryRoot, webPort, FreePort.Next(), connectionString, Path.Combine(state, "logs"), Path.Combine(state, "no-secrets"));
        foreach (var (key, value) in environment)
        {
            all[key] = value;
        }
        var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{webPort}/"));
        var process = ManagedProcess.Start("web", "dotnet", [assembly], Path.Combine(state, "web.out"), all, Path.GetDirectoryName(assembly));
        var app = new AppProcess(process, url, state);
        try
        {
            await NativeStack.WaitForAsync(process, new Uri(url, "/health/ready"), TimeSpan.FromSeconds(120), cancellationToken);
            return app;
        }
        catch
        {
            app.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Process.Dispose();
        try
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A log file still being closed: the temporary directory is left for the system to clean.
        }
    }
}

using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Stack;

/// <summary>What a test needs to start the native stack: the system's servers, and the app built like this test.</summary>
public static class NativeRun
{
    /// <summary>Ends the test (skip, or failure in CI) unless PostgreSQL, Prometheus, Alertmanager and the exporters are installed.</summary>
    public static void RequireServers()
    {
        Infrastructure.Require(PostgresCluster.IsInstalled, "PostgreSQL server binaries are not installed (package 'postgresql')");
        foreach (var (names, package) in new[]
                 {
                     (Executables.Prometheus, "prometheus"), (Executables.Alertmanager, "prometheus-alertmanager"),
                     (Executables.NodeExporter, "prometheus-node-exporter"), (Executables.BlackboxExporter, "prometheus-blackbox-exporter"),
                     (Executables.PostgresExporter, "prometheus-postgres-exporter"),
                 })
        {
            Infrastructure.Require(Executables.Find(names) is not null, $"{names[0]} is not installed (package '{package}')");
        }
    }

    /// <summary>Options for a throwaway native stack in a new temporary state directory, running the app of this build configuration.</summary>
    public static NativeStackOptions ThrowawayOptions(string name, string? fastTimings = null)
    {
        var state = Directory.CreateTempSubdirectory($"vigie-{name}-").FullName;
        return new NativeStackOptions
        {
            RepositoryRoot = Infrastructure.RepositoryRoot,
            StateDirectory = state,
            LogDirectory = Path.Combine(state, "logs"),
            Configuration = Infrastructure.BuildConfiguration,
            DurableDatabase = false,
            FastTimings = fastTimings,
        };
    }

    /// <summary>Stops the stack and removes its state directory.</summary>
    public static async Task StopAsync(NativeStack stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var state = stack.Options.StateDirectory;
        await stack.DisposeAsync();
        Directory.Delete(state, recursive: true);
    }
}

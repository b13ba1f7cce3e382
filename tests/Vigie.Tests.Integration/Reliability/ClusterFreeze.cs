using System.Diagnostics;
using System.Globalization;
using Vigie.Stack;

namespace Vigie.Tests.Reliability;

/// <summary>
/// Freezes a test's own PostgreSQL cluster (SIGSTOP to the postmaster and its backends, SIGCONT to resume): the
/// database that hangs instead of refusing — a stalled disk, a network partition — where connections and statements
/// wait for their timeouts rather than fail at once. Disposing resumes it.
/// </summary>
internal sealed class ClusterFreeze : IDisposable
{
    private readonly List<int> _stopped = [];

    private ClusterFreeze(PostgresCluster cluster)
    {
        var postmaster = int.Parse(File.ReadLines(Path.Combine(cluster.BaseDirectory, "data", "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        // The postmaster first, so it forks no new backend; then every process it started.
        Signal("STOP", postmaster);
        _stopped.Add(postmaster);
        foreach (var child in ChildrenOf(postmaster))
        {
            Signal("STOP", child);
            _stopped.Add(child);
        }
    }

    public static ClusterFreeze Freeze(PostgresCluster cluster) => new(cluster);

    public void Dispose()
    {
        foreach (var pid in Enumerable.Reverse(_stopped))
        {
            Signal("CONT", pid);
        }
        _stopped.Clear();
    }

    private static IEnumerable<int> ChildrenOf(int parent)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            // pid (comm) state ppid ...: comm may hold spaces, so fields are counted after its closing parenthesis.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (int.Parse(fields[1], CultureInfo.InvariantCulture) == parent)
            {
                yield return pid;
            }
        }
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }
}

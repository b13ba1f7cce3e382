namespace Vigie.Stack;

/// <summary>
/// Watches a running native stack for the foreground runner. A process of the stack that exits, or PostgreSQL stopping
/// (it runs detached, under <c>pg_ctl</c>), is reported at once: which one, its exit code and its log. The app and its
/// database are the stack: once either is gone (stopped by <c>Down</c> from another terminal, crashed, killed), nothing
/// is served or stored, and the watch ends so the runner stops what remains and exits with an error, instead of
/// printing "Press Ctrl+C" over a dead stack.
/// </summary>
public static class StackSupervisor
{
    /// <summary>
    /// Polls every <paramref name="interval"/> until the app or the database is gone, or every process has exited;
    /// returns what went. Throws <see cref="OperationCanceledException"/> when <paramref name="stopping"/> is cancelled.
    /// </summary>
    public static async Task<string> WatchAsync(NativeStack stack, TextWriter output, TimeSpan interval, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(output);
        var reported = new HashSet<string>();
        while (true)
        {
            await Task.Delay(interval, stopping);
            if (Deaths(stack, reported).Count == 0)
            {
                continue;
            }
            // Ctrl+C reaches the whole terminal's process group: a child may exit from it just before this process
            // sees its own signal. That is a stop asked for, not a death to report.
            await Task.Delay(TimeSpan.FromSeconds(1), stopping);
            foreach (var (name, line) in Deaths(stack, reported))
            {
                reported.Add(name);
                output.WriteLine(line);
            }
            var gone = reported.Where(name => name is "web" or Database).ToList();
            if (gone.Count > 0 || stack.Processes.All(p => p.HasExited))
            {
                return gone.Count > 0 ? string.Join(" and ", gone) + " gone" : "every process exited";
            }
            output.WriteLine("  The rest of the stack keeps running; restart it (Ctrl+C, then dotnet cake) to get the missing part back.");
        }
    }

    private const string Database = "PostgreSQL";

    /// <summary>The deaths not reported yet, each with the line that reports it.</summary>
    private static List<(string Name, string Line)> Deaths(NativeStack stack, HashSet<string> reported)
    {
        var deaths = stack.Processes.Where(p => p.HasExited && !reported.Contains(p.Name))
            .Select(p => (p.Name, $"  ✗ {p.Name} (PID {p.Id}) exited with code {p.ExitCode}{Signal(p.ExitCode)}; its log: {p.LogPath}{Indent(p.Tail(5))}"))
            .ToList();
        if (!reported.Contains(Database) && stack.Database.ServerPid() is null)
        {
            deaths.Add((Database, $"  ✗ {Database} (port {stack.Database.Port}) stopped; its log: {stack.Database.LogPath}"));
        }
        return deaths;
    }

    // The runtime reports a process ended by a signal as 128 + the signal's number (137: SIGKILL, 143: SIGTERM).
    private static string Signal(int? exitCode) => exitCode > 128 ? $" (ended by signal {exitCode - 128})" : string.Empty;

    private static string Indent(string tail) =>
        string.Concat(tail.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Environment.NewLine + "      " + l.TrimEnd('\r')));
}

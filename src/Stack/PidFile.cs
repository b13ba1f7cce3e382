using System.Diagnostics;
using System.Globalization;

namespace Vigie.Stack;

/// <summary>
/// The <c>pids</c> file of a native stack, so <c>Vigie.Stack down</c> can stop a stack that another process started.
/// Each line names a process by its PID, the boot it was started in and its start time since that boot: after a
/// reboot, or once the process has exited and the kernel handed its PID to something else, the line no longer matches
/// and that process is left alone. A PID alone is not an identity.
/// </summary>
public sealed class PidFile(string path)
{
    public string Path { get; } = path;

    /// <summary>Appends <paramref name="pid"/> with its identity, under <paramref name="name"/>; a process already gone is not recorded.</summary>
    public void Record(int pid, string name)
    {
        if (Identity(pid) is not { } identity)
        {
            return;
        }
        File.AppendAllText(Path, string.Create(CultureInfo.InvariantCulture, $"{pid} {identity.BootId} {identity.StartTicks} {name}\n"));
    }

    /// <summary>The recorded processes that still run (each still the process recorded, not a reuse of its PID).</summary>
    public IReadOnlyList<(int Pid, string Name)> Alive() =>
    [
        .. Entries().Select(e => e.Entry).OfType<(int Pid, ProcessIdentity Identity, string Name)>()
            .Where(e => Identity(e.Pid) == e.Identity).Select(e => (e.Pid, e.Name)),
    ];

    /// <summary>
    /// Kills (whole tree) each recorded process that is still the one recorded, then deletes the file. Returns one line
    /// per entry saying what was done.
    /// </summary>
    public IReadOnlyList<string> StopRecorded()
    {
        var report = new List<string>();
        foreach (var (line, entry) in Entries())
        {
            if (entry is not var (pid, identity, name))
            {
                report.Add($"skipped unreadable line '{line}'");
                continue;
            }
            if (Identity(pid) != identity)
            {
                report.Add($"{name} ({pid}) already gone; PID {pid} is not that process now, left alone");
                continue;
            }
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
                report.Add($"stopped {name} ({pid})");
            }
            catch (ArgumentException)
            {
                report.Add($"{name} ({pid}) exited meanwhile");
            }
        }
        if (File.Exists(Path))
        {
            File.Delete(Path);
        }
        return report;
    }

    /// <summary>Each line of the file with its entry, or a null entry when the line cannot be read.</summary>
    private IEnumerable<(string Line, (int Pid, ProcessIdentity Identity, string Name)? Entry)> Entries()
    {
        if (!File.Exists(Path))
        {
            yield break;
        }
        foreach (var line in File.ReadAllLines(Path))
        {
            var parts = line.Split(' ', 4);
            yield return parts.Length == 4 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var pid)
                && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var startTicks)
                ? (line, (pid, new ProcessIdentity(parts[1], startTicks), parts[3]))
                : (line, null);
        }
    }

    /// <summary>The boot id and start time (clock ticks since boot, /proc/PID/stat field 22) of a running process, or null.</summary>
    public static ProcessIdentity? Identity(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var startTicks = long.Parse(fields[19], CultureInfo.InvariantCulture);
            return new ProcessIdentity(File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(), startTicks);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>What identifies a process across PID reuse and reboots.</summary>
public readonly record struct ProcessIdentity(string BootId, long StartTicks);

using System.Globalization;

namespace Vigie.Stack.Bench;

/// <summary>CPU time and memory of processes and of the machine, read from Linux' /proc.</summary>
public static class ProcFs
{
    /// <summary>Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux).</summary>
    public const double TicksPerSecond = 100;

    /// <summary>User + system CPU ticks of <paramref name="pid"/>, 0 when it is gone.</summary>
    public static long CpuTicks(int pid)
    {
        var fields = StatFields(pid);
        return fields is null ? 0 : long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>CPU ticks of the children this process has waited for (wrk, once it exited).</summary>
    public static long WaitedChildrenTicks()
    {
        var fields = StatFields(Environment.ProcessId)!;
        return long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// CPU ticks of <paramref name="pid"/> and its direct children (PostgreSQL's postmaster and its backends), those that
    /// exited included: their time moved into the parent's cutime/cstime when it reaped them.
    /// </summary>
    public static long TreeTicks(int pid)
    {
        var own = StatFields(pid);
        if (own is null)
        {
            return 0;
        }
        var total = own.Skip(11).Take(4).Sum(v => long.Parse(v, CultureInfo.InvariantCulture));
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var child) && StatFields(child) is { } fields
                && fields[1] == pid.ToString(CultureInfo.InvariantCulture))
            {
                total += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
        }
        return total;
    }

    /// <summary>
    /// User + system CPU ticks of the live threads of <paramref name="pid"/> whose name (/proc/&lt;pid&gt;/task/&lt;tid&gt;/comm,
    /// e.g. <c>.NET Server GC</c>) starts with one of <paramref name="prefixes"/>; threads gone meanwhile are not counted.
    /// </summary>
    public static long ThreadTicks(int pid, params string[] prefixes)
    {
        ArgumentNullException.ThrowIfNull(prefixes);
        long total = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    var name = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
                    if (prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)) && StatFields(File.ReadAllText(Path.Combine(task, "stat"))) is { } fields)
                    {
                        total += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                    }
                }
                catch (IOException)
                {
                    // The thread ended while being read.
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
        }
        return total;
    }

    /// <summary>Busy and total ticks of all CPUs together (/proc/stat).</summary>
    public static (long Busy, long Total) MachineTicks()
    {
        var values = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal (guest times are included in user/nice)
        var idle = values[3] + values[4];
        var total = values.Take(8).Sum();
        return (total - idle, total);
    }

    /// <summary>A field of /proc/&lt;pid&gt;/status in kB (VmRSS, VmHWM…), or null.</summary>
    public static long? StatusKb(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Starts VmHWM of <paramref name="pid"/> again from its current VmRSS (writing 5 to clear_refs, Linux 4.0 on), so
    /// the peak of one request can be read after it.
    /// </summary>
    public static void ResetPeakResident(int pid) => File.WriteAllText($"/proc/{pid}/clear_refs", "5");

    // The fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] state, [1] ppid, … [11] utime,
    // [12] stime, [13] cutime, [14] cstime.
    private static string[]? StatFields(int pid)
    {
        try
        {
            return StatFields(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string[] StatFields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
}

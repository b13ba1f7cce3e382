using System.Globalization;
using Prometheus;

namespace Vigie.Metrics;

/// <summary>
/// The process and GC metrics prometheus-net's DotNetStats exports, under the same names (dashboards and alerts use
/// them), read more cheaply at scrape time. DotNetStats counts open handles through <c>Process.HandleCount</c>, which
/// on Linux stats every entry of /proc/self/fd under a lock: with a few hundred sockets open under load that was more
/// than half of a scrape's CPU and made concurrent scrapes wait for each other. Here /proc/self/fd is only counted, and
/// memory and thread figures come from one read of /proc/self/status.
/// </summary>
internal sealed class ProcessMetrics
{
    private readonly Counter _cpu;
    private readonly Gauge _virtual;
    private readonly Gauge _workingSet;
    private readonly Gauge _private;
    private readonly Gauge _handles;
    private readonly Gauge _threads;
    private readonly Gauge _totalMemory;
    private readonly Counter.Child[] _collections;

    public ProcessMetrics(CollectorRegistry registry)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        factory.CreateGauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
            .Set((System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds);
        _cpu = factory.CreateCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
        _virtual = factory.CreateGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
        _workingSet = factory.CreateGauge("process_working_set_bytes", "Process working set");
        _private = factory.CreateGauge("process_private_memory_bytes", "Process private memory size");
        _handles = factory.CreateGauge("process_open_handles", "Number of open handles");
        _threads = factory.CreateGauge("process_num_threads", "Total number of threads");
        _totalMemory = factory.CreateGauge("dotnet_total_memory_bytes", "Total known allocated memory");
        var collections = factory.CreateCounter("dotnet_collection_count_total", "GC collection count", ["generation"]);
        _collections = Enumerable.Range(0, GC.MaxGeneration + 1).Select(g => collections.WithLabels(g.ToString(CultureInfo.InvariantCulture))).ToArray();
        registry.AddBeforeCollectCallback(Update);
    }

    private void Update()
    {
        _cpu.IncTo(Environment.CpuUsage.TotalTime.TotalSeconds);
        _totalMemory.Set(GC.GetTotalMemory(forceFullCollection: false));
        for (var generation = 0; generation < _collections.Length; generation++)
        {
            _collections[generation].IncTo(GC.CollectionCount(generation));
        }
        if (!OperatingSystem.IsLinux())
        {
            using var process = System.Diagnostics.Process.GetCurrentProcess();
            _virtual.Set(process.VirtualMemorySize64);
            _workingSet.Set(process.WorkingSet64);
            _private.Set(process.PrivateMemorySize64);
            _threads.Set(process.Threads.Count);
            _handles.Set(process.HandleCount);
            return;
        }
        // The same sources .NET's Process uses on Linux: VmSize, VmRSS and VmData (kB), and Threads.
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmSize:", StringComparison.Ordinal))
            {
                _virtual.Set(Kilobytes(line) * 1024);
            }
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                _workingSet.Set(Kilobytes(line) * 1024);
            }
            else if (line.StartsWith("VmData:", StringComparison.Ordinal))
            {
                _private.Set(Kilobytes(line) * 1024);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                _threads.Set(Kilobytes(line));
            }
        }
        // .NET's directory enumeration stats every symbolic link it meets, and /proc/self/fd holds one per open socket:
        // counted at most every HandleCountInterval (three scrapes), it stays a small part of a scrape.
        var now = Environment.TickCount64;
        if (now - _handlesCountedAt >= HandleCountInterval)
        {
            _handlesCountedAt = now;
            var handles = 0;
            foreach (var _ in new System.IO.Enumeration.FileSystemEnumerable<byte>("/proc/self/fd", (ref System.IO.Enumeration.FileSystemEntry _) => 0))
            {
                handles++;
            }
            _handles.Set(handles);
        }
    }

    private const long HandleCountInterval = 15_000;
    private long _handlesCountedAt = long.MinValue / 2;

    // "Name:   1234 kB" or "Threads:  17".
    private static double Kilobytes(string line) =>
        double.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture);
}

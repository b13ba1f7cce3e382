using System.Text.Json;
using Vigie.Stack.Bench;

namespace Vigie.Tests.Unit.Bench;

public sealed class SpeedscopeSummaryTests
{
    private const string Kestrel = "Microsoft.AspNetCore.Server.Kestrel.Core!Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpProtocol.ProcessRequests()";
    private const string Npgsql = "Npgsql!Npgsql.NpgsqlConnector.ReadMessage()";
    private const string Dictionary = "System.Private.CoreLib!System.Collections.Generic.Dictionary`2.FindValue(!0)";
    private const string Scoring = "Microsoft.ML.Data!Microsoft.ML.Data.PredictionEngine`2.Predict(!0)";
    private const string WorkItem = "System.Private.CoreLib!System.Threading.ThreadPoolWorkQueue.Dispatch()";
    private const string Socket = "System.Net.Sockets!System.Net.Sockets.SocketAsyncEngine.EventLoop()";
    private const string Semaphore = "System.Private.CoreLib!System.Threading.LowLevelLifoSemaphore.WaitNative(int32)";

    [Test]
    public void A_sample_counts_for_the_innermost_component_on_its_stack() =>
        // Kestrel called the code that called Npgsql, which was running a Dictionary lookup: Npgsql's time.
        Assert.That(SpeedscopeSummary.Categorise([Method(WorkItem), Method(Kestrel), Method(Npgsql), Method(Dictionary)]), Is.EqualTo("Npgsql & the group writer"));

    [Test]
    public void Plumbing_names_a_sample_only_when_no_component_is_on_its_stack()
    {
        Assert.That(SpeedscopeSummary.Categorise([Method(WorkItem), Method(Socket)]), Is.EqualTo("sockets & pipes (Kestrel's and Npgsql's)"));
        Assert.That(SpeedscopeSummary.Categorise([Method(WorkItem), Method(Dictionary)]), Is.EqualTo("thread pool & async scheduling"));
        Assert.That(SpeedscopeSummary.Categorise(["Thread (42)"]), Is.EqualTo(SpeedscopeSummary.Other));
    }

    [Test]
    public void Native_code_under_a_wait_is_waiting_and_managed_code_there_is_spinning()
    {
        string[] pool = [Method(WorkItem), "System.Threading.LowLevelLifoSemaphore.WaitForSignal(int32)"];
        Assert.Multiple(() =>
        {
            Assert.That(SpeedscopeSummary.IsWaiting(pool, native: true), Is.True);
            Assert.That(SpeedscopeSummary.IsWaiting(pool, native: false), Is.False);
            // epoll_wait is called through an unresolved stub ("?") straight from the socket engine's loop; a send is work.
            Assert.That(SpeedscopeSummary.IsWaiting([Method(Socket), "?"], native: true), Is.True);
            Assert.That(SpeedscopeSummary.IsWaiting([Method(Kestrel), "System.Net.Sockets.SocketPal.TryCompleteSendTo()", "?"], native: true), Is.False);
            // A file watcher's thread blocks reading inotify.
            Assert.That(SpeedscopeSummary.IsWaiting(["System.IO.FileSystemWatcher+RunningInstance.Run()", "Interop+Sys.Read(class System.Runtime.InteropServices.SafeHandle,unsigned int8*,int32)"], native: true), Is.True);
            // A thread stopped for the GC is the GC's time (its own threads), whatever the sampler took it for.
            Assert.That(SpeedscopeSummary.IsWaiting([Method(Kestrel), "System.Threading.Thread.<PollGC>g__PollGCWorker|67_0()"], native: false), Is.True);
        });
    }

    [Test]
    public void Waiting_threads_are_left_out_and_the_rest_is_shared_by_category_and_running_method()
    {
        // Thread 1: Kestrel on the CPU 30 ms, then Npgsql 10 ms. Thread 2: scoring 40 ms in managed code, then 20 ms in
        // native code called from it (on the CPU too). Thread 3: a pool thread waiting 500 ms for work.
        // On the CPU: 30 + 10 + 40 + 20 = 100 ms → scoring 60 %, Kestrel 30 %, Npgsql 10 %; waiting 500 ms.
        var json = Speedscope(
            Evented("Thread (1)", (0, [Kestrel], SpeedscopeSummary.ManagedLeaf, 30), (30, [Npgsql], SpeedscopeSummary.ManagedLeaf, 10)),
            Evented("Thread (2)", (0, [Scoring], SpeedscopeSummary.ManagedLeaf, 40), (40, [Scoring], SpeedscopeSummary.NativeLeaf, 20)),
            Evented("Thread (3)", (0, [WorkItem, Semaphore], SpeedscopeSummary.NativeLeaf, 500)));

        var summary = SpeedscopeSummary.Read(json);

        Assert.Multiple(() =>
        {
            Assert.That(summary.OnCpuMilliseconds, Is.EqualTo(100).Within(1e-9));
            Assert.That(summary.WaitingMilliseconds, Is.EqualTo(500).Within(1e-9));
            Assert.That(summary.Categories.Select(c => (c.Name, Math.Round(c.Share, 6))), Is.EqualTo(new[]
            {
                ("model scoring (Microsoft.ML)", 0.6), ("Kestrel & HTTP", 0.3), ("Npgsql & the group writer", 0.1),
            }));
            Assert.That(summary.TopMethods.Select(m => (m.Name, Math.Round(m.Share, 6))), Is.EqualTo(new[]
            {
                (Method(Scoring), 0.4), (Method(Kestrel), 0.3), (Method(Scoring) + " [native]", 0.2), (Method(Npgsql), 0.1),
            }));
        });
    }

    [Test]
    public void An_unnamed_stub_into_native_code_under_a_wait_is_waiting_even_when_sampled_as_managed()
    {
        // The socket engine's loop in epoll_wait, reached through a stub the converter names "?", sampled with the managed
        // leaf for 80 ms; Kestrel sending a response through such a stub for 20 ms: only the send is on the CPU.
        var json = Speedscope(
            Evented("Thread (1)", (0, [Socket, "?"], SpeedscopeSummary.ManagedLeaf, 80)),
            Evented("Thread (2)", (0, [Kestrel, "System.Net.Sockets!System.Net.Sockets.SocketPal.TryCompleteSendTo()", "?"], SpeedscopeSummary.ManagedLeaf, 20)));

        var summary = SpeedscopeSummary.Read(json);

        Assert.Multiple(() =>
        {
            Assert.That(summary.WaitingMilliseconds, Is.EqualTo(80).Within(1e-9));
            Assert.That(summary.OnCpuMilliseconds, Is.EqualTo(20).Within(1e-9));
        });
    }

    [Test]
    public void Sampled_profiles_are_weighted_by_their_weights()
    {
        // Two samples of Kestrel weighing 3 ms each and one of Npgsql weighing 2 ms: 6 / 8 and 2 / 8.
        var json = JsonSerializer.Serialize(new
        {
            shared = new { frames = new[] { Kestrel, Npgsql, SpeedscopeSummary.ManagedLeaf }.Select(name => new { name }) },
            profiles = new[]
            {
                new { type = "sampled", name = "Thread (1)", samples = new[] { new[] { 0, 2 }, [0, 2], [1, 2] }, weights = new[] { 3.0, 3.0, 2.0 } },
            },
        });

        var summary = SpeedscopeSummary.Read(json);

        Assert.That(summary.Categories.Select(c => (c.Name, c.Share)), Is.EqualTo(new[] { ("Kestrel & HTTP", 0.75), ("Npgsql & the group writer", 0.25) }));
    }

    private static string Method(string frame) => frame[(frame.IndexOf('!', StringComparison.Ordinal) + 1)..];

    // One thread's profile in speedscope's evented form, as dotnet-trace writes it: each sample opens the thread's
    // frame, its stack and the leaf pseudo-frame at its start and closes them, innermost first, after its length.
    private static (string Name, List<(string Type, string Frame, double At)> Events) Evented(string thread, params (double At, string[] Stack, string Leaf, double Length)[] samples)
    {
        var events = new List<(string Type, string Frame, double At)>();
        foreach (var (at, stack, leaf, length) in samples)
        {
            string[] frames = [thread, .. stack, leaf];
            events.AddRange(frames.Select(f => ("O", f, at)));
            events.AddRange(frames.Reverse().Select(f => ("C", f, at + length)));
        }
        return (thread, events);
    }

    private static string Speedscope(params (string Name, List<(string Type, string Frame, double At)> Events)[] threads)
    {
        var frames = threads.SelectMany(t => t.Events.Select(e => e.Frame)).Distinct().ToList();
        return JsonSerializer.Serialize(new
        {
            shared = new { frames = frames.Select(name => new { name }) },
            profiles = threads.Select(t => new
            {
                type = "evented",
                name = t.Name,
                unit = "milliseconds",
                events = t.Events.Select(e => new { type = e.Type, frame = frames.IndexOf(e.Frame), at = e.At }),
            }),
        });
    }
}

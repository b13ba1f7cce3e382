using System.Diagnostics;
using Vigie.Stack;

namespace Vigie.Tests.Stack;

/// <summary>
/// <c>Vigie.Stack down</c> stops a native stack from the PIDs its <c>pids</c> file recorded; after a reboot or once a
/// PID is reused those numbers name other people's processes, which must be left alone.
/// </summary>
public sealed class PidFileTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("vigie-pids-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void A_recorded_process_that_is_still_ours_is_stopped()
    {
        using var sleeper = StartSleeper();
        var pids = new PidFile(Path.Combine(_directory, "pids"));
        pids.Record(sleeper.Id, "sleeper");

        var report = pids.StopRecorded();

        Assert.Multiple(() =>
        {
            Assert.That(sleeper.WaitForExit(TimeSpan.FromSeconds(10)), Is.True, "the recorded process was stopped");
            Assert.That(report, Has.Some.StartsWith("stopped sleeper"));
            Assert.That(File.Exists(pids.Path), Is.False);
        });
    }

    [Test]
    public void A_PID_now_held_by_another_process_is_left_alone()
    {
        using var stranger = StartSleeper();
        var identity = PidFile.Identity(stranger.Id)!.Value;
        var path = Path.Combine(_directory, "pids");
        // The same PID as recorded by a stack long gone: same boot, an earlier start (the PID was reused since).
        File.WriteAllText(path, $"{stranger.Id} {identity.BootId} {identity.StartTicks - 1} web\n");
        // ... and as recorded before a reboot.
        File.AppendAllText(path, $"{stranger.Id} 00000000-0000-0000-0000-000000000000 {identity.StartTicks} prometheus\n");

        var report = new PidFile(path).StopRecorded();

        Assert.Multiple(() =>
        {
            Assert.That(stranger.HasExited, Is.False, "someone else's process survives `down`");
            Assert.That(report, Has.Count.EqualTo(2).And.All.Contains("left alone"));
        });
        stranger.Kill();
    }

    [Test]
    public void A_process_that_exited_before_it_was_recorded_is_not_recorded()
    {
        using var quick = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        quick.WaitForExit();
        var pids = new PidFile(Path.Combine(_directory, "pids"));

        pids.Record(quick.Id, "quick");

        Assert.That(File.Exists(pids.Path), Is.False);
    }

    private static Process StartSleeper() =>
        Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false }) ?? throw new InvalidOperationException("sleep did not start");
}

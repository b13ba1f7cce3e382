using System.Diagnostics;
using Vigie.Stack;

namespace Vigie.Tests.Stack.Runner;

/// <summary>One native stack per state directory: a second claim is refused with where the first runs, and so is a directory whose earlier processes still run.</summary>
public sealed class StackClaimTests
{
    private string _state = null!;

    [SetUp]
    public void CreateDirectory() => _state = Directory.CreateTempSubdirectory("vigie-claim-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_state, recursive: true);

    [Test]
    public void A_claimed_directory_is_refused_with_the_running_stack_s_URL_until_released()
    {
        var first = StackClaim.Take(_state);
        first.Publish(new Dictionary<string, string> { ["web"] = "http://127.0.0.1:18080/" });

        var refused = Assert.Throws<StackAlreadyRunningException>(() => StackClaim.Take(_state))!;
        var runningWhileHeld = StackClaim.RunningIn(_state);
        first.Dispose();

        Assert.Multiple(() =>
        {
            Assert.That(refused.Message, Does.StartWith("Vigie is already running at http://127.0.0.1:18080/").And.Contain("dotnet cake --target=Down"));
            Assert.That(runningWhileHeld, Is.EqualTo(refused.Message));
            Assert.That(StackClaim.RunningIn(_state), Is.Null, "released with the stack");
            Assert.That(StackClaim.Endpoints(_state), Is.Null, "the addresses are withdrawn");
        });
    }

    [Test]
    public void Processes_left_by_an_earlier_run_are_named_and_the_directory_refused()
    {
        using var leftover = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        new PidFile(Path.Combine(_state, "pids")).Record(leftover.Id, "web");

        var refused = Assert.Throws<StackAlreadyRunningException>(() => StackClaim.Take(_state))!;
        leftover.Kill();
        leftover.WaitForExit();

        Assert.Multiple(() =>
        {
            Assert.That(refused.Message, Does.Contain($"web (PID {leftover.Id})").And.Contain("dotnet cake --target=Down"));
            Assert.DoesNotThrow(() => StackClaim.Take(_state).Dispose(), "once they are gone the directory is free");
        });
    }
}

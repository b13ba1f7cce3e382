using System.Diagnostics;
using Vigie.Stack;

namespace Vigie.Tests.Stack.Runner;

/// <summary>
/// The foreground runner (<c>dotnet cake</c> without Docker) as a person meets it: a second <c>dotnet cake</c> while a
/// stack runs must say where that stack is and leave it alone, and a stack whose app or database dies must say so and
/// end instead of printing "Press Ctrl+C" over nothing.
/// </summary>
[NonParallelizable]
public sealed class ForegroundRunnerTests
{
    [SetUp]
    public void RequireServers() => NativeRun.RequireServers();

    [Test]
    public async Task A_second_run_says_where_the_stack_runs_and_leaves_it_alone()
    {
        await using var first = await ForegroundRunner.UpAsync(ForegroundRunner.NewStateDirectory());
        var pids = Path.Combine(first.StateDirectory, "pids");
        var recorded = File.ReadAllText(pids);

        var second = await ForegroundRunner.RunAsync("up", first.StateDirectory, "--free-ports");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var ready = await http.GetAsync(new Uri(first.WebUrl, "/health/ready"));
        Assert.Multiple(() =>
        {
            Assert.That(second.ExitCode, Is.EqualTo(3), second.All);
            Assert.That(second.Error, Does.Contain($"Vigie is already running at {first.WebUrl}").And.Contain("dotnet cake --target=Down"));
            Assert.That(second.Output, Does.Not.Contain("starting"), "the second run started nothing");
            Assert.That(ready.IsSuccessStatusCode, Is.True, "the first stack still answers ready");
            Assert.That(File.Exists(pids) ? File.ReadAllText(pids) : "(deleted)", Is.EqualTo(recorded), "the first stack's PID file is untouched");
            Assert.That(first.HasExited, Is.False);
        });

        first.Interrupt();
        Assert.Multiple(async () =>
        {
            Assert.That(await first.WaitForExitAsync(TimeSpan.FromMinutes(2)), Is.Zero, "Ctrl+C is a clean stop");
            Assert.That(first.Output, Does.Not.Contain("✗"), "a stop asked for is not reported as a death");
        });
    }

    [Test]
    public async Task A_killed_PostgreSQL_is_reported_and_ends_the_runner_with_an_error()
    {
        await using var runner = await ForegroundRunner.UpAsync(ForegroundRunner.NewStateDirectory());
        var postgres = Path.Combine(runner.StateDirectory, "postgres");
        var serverPid = PostgresCluster.ServerPid(postgres) ?? throw new InvalidOperationException("no PostgreSQL runs:\n" + runner.Output);
        var others = new PidFile(Path.Combine(runner.StateDirectory, "pids")).Alive();

        using (var server = Process.GetProcessById(serverPid))
        {
            server.Kill();
        }

        var exitCode = await runner.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(1), runner.Output);
            Assert.That(runner.Output, Does.Contain("✗ PostgreSQL").And.Contain("stopped; its log: " + Path.Combine(postgres, "postgres.log")));
            Assert.That(runner.Output, Does.Contain("The native stack is gone (PostgreSQL gone)"));
            Assert.That(others.Where(p => PidFile.Identity(p.Pid) is not null).Select(p => p.Name), Is.Empty, "what remained was stopped");
        });
    }

    [Test]
    public async Task Down_from_another_terminal_is_reported_and_ends_the_runner_with_an_error()
    {
        await using var runner = await ForegroundRunner.UpAsync(ForegroundRunner.NewStateDirectory());

        var down = await ForegroundRunner.RunAsync("down", runner.StateDirectory);

        var exitCode = await runner.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.Multiple(() =>
        {
            Assert.That(down.ExitCode, Is.Zero, down.All);
            Assert.That(exitCode, Is.EqualTo(1), runner.Output);
            Assert.That(runner.Output, Does.Match(@"✗ web \(PID \d+\) exited with code \d+ \(ended by signal 9\); its log: .*web\.log"), "down kills it");
            Assert.That(runner.Output, Does.Contain("The native stack is gone"));
        });
    }
}

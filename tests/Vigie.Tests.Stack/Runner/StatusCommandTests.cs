using System.Text.RegularExpressions;
using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Runner;

/// <summary>
/// <c>dotnet cake --target=Status</c> (<c>Vigie.Stack status</c>): a blackbox probe's scrape is "up" whenever the
/// exporter answers, even when the URL it probes answers 503; the table must show what the probe found.
/// </summary>
public sealed class StatusCommandTests
{
    [Test]
    public async Task A_failing_probe_shows_as_failed_with_the_status_the_app_answered()
    {
        NativeRun.RequireServers();
        var stack = await NativeStack.StartAsync(NativeRun.ThrowawayOptions("status", fastTimings: "1s"), line => TestContext.Progress.WriteLine("  starting " + line));
        try
        {
            await stack.WaitForTargetsUpAsync(TimeSpan.FromSeconds(60));
            var healthy = await ForegroundRunner.RunAsync("status", stack.Options.StateDirectory);

            // The app answers /health/ready with 503 while its database is down.
            stack.Database.Stop();
            var failedProbe = new Regex(@$"blackbox\s+{Regex.Escape(new Uri(stack.WebUrl, "/health/ready").ToString())}\s+up\s+FAILED 503");
            ProcessRunner.Result status = healthy;
            for (var deadline = DateTime.UtcNow.AddMinutes(2); DateTime.UtcNow < deadline && !failedProbe.IsMatch(status.Output); await Task.Delay(1000))
            {
                status = await ForegroundRunner.RunAsync("status", stack.Options.StateDirectory);
            }

            Assert.Multiple(() =>
            {
                Assert.That(healthy.ExitCode, Is.Zero, healthy.All);
                Assert.That(healthy.Output, Does.Match(@"blackbox\s+\S+/health/ready\s+up\s+ok 200"));
                Assert.That(status.Output, Does.Match(failedProbe.ToString()), "the probe's own result, beside the scrape's 'up'");
                Assert.That(status.ExitCode, Is.EqualTo(1));
                Assert.That(status.Output, Does.Contain("Status: NOT healthy."));
            });
        }
        finally
        {
            await NativeRun.StopAsync(stack);
        }
    }
}

using Microsoft.Extensions.Hosting;
using Vigie.Web.Infrastructure.Hosting;

namespace Vigie.Tests.Unit.Infrastructure;

public sealed class BackgroundLoopsTests
{
    [Test]
    public void The_back_off_doubles_after_each_failure_up_to_its_ceiling_and_restarts_after_a_success()
    {
        var backoff = BackgroundLoops.NewBackoff();
        var waits = Enumerable.Range(0, 8).Select(_ => backoff.Failed().TotalSeconds).ToList();
        backoff.Reset();
        Assert.Multiple(() =>
        {
            Assert.That(waits, Is.EqualTo(new double[] { 1, 2, 4, 8, 16, 30, 30, 30 }));
            Assert.That(backoff.Failed(), Is.EqualTo(BackgroundLoops.FirstDelay));
        });
    }

    [Test]
    public void The_host_is_set_to_stop_when_a_loop_ends_with_an_exception()
    {
        var options = new HostOptions { BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore };
        BackgroundLoops.Configure(options);
        Assert.That(options.BackgroundServiceExceptionBehavior, Is.EqualTo(BackgroundServiceExceptionBehavior.StopHost));
    }
}

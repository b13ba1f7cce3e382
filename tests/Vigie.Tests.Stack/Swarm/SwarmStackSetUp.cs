namespace Vigie.Tests.Stack.Swarm;

/// <summary>Deploys the Swarm stack once for every test of this namespace, and removes it after them.</summary>
[SetUpFixture]
public sealed class SwarmStackSetUp
{
    private static SwarmStack? _stack;

    internal static SwarmStack Stack => _stack ?? throw new InvalidOperationException("the swarm stack did not start");

    [OneTimeSetUp]
    public async Task DeployStack() => _stack = await SwarmStack.StartAsync(line => TestContext.Progress.WriteLine("  swarm: " + line));

    [OneTimeTearDown]
    public async Task RemoveStack()
    {
        if (_stack is not null)
        {
            TestContext.Progress.WriteLine("  swarm: timings " + string.Join(", ", _stack.Timings.Select(t => $"{t.Key} {t.Value:F0} s")));
            await _stack.DisposeAsync();
        }
    }
}

namespace Vigie.Tests.Stack.Containers;

/// <summary>Starts the compose stack once for every container test of this namespace, and removes it after them.</summary>
[SetUpFixture]
public sealed class ContainerStackSetUp
{
    private static ContainerStack? _stack;

    internal static ContainerStack Stack => _stack ?? throw new InvalidOperationException("the container stack did not start");

    [OneTimeSetUp]
    public async Task StartStack() => _stack = await ContainerStack.StartAsync(line => TestContext.Progress.WriteLine("  containers: " + line));

    [OneTimeTearDown]
    public async Task RemoveStack()
    {
        if (_stack is not null)
        {
            TestContext.Progress.WriteLine("  containers: timings " + string.Join(", ", _stack.Timings.Select(t => $"{t.Key} {t.Value:F0} s")));
            await _stack.DisposeAsync();
        }
    }
}

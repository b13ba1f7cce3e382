namespace Vigie.Tests.Reliability;

/// <summary>
/// A fixture whose tests share one <see cref="IsolatedApp"/> on real Kestrel (its own cluster), started once: for what
/// only a real socket shows (limits, hung-up clients, client addresses, headers as sent).
/// </summary>
public abstract class KestrelAppFixture
{
    private protected IsolatedApp App { get; private set; } = null!;

    /// <summary>Settings over <see cref="IsolatedApp.FastTimeouts"/> for this fixture's app.</summary>
    private protected virtual IReadOnlyDictionary<string, string>? Settings => null;

    [OneTimeSetUp]
    public async Task StartAppAsync() => App = await IsolatedApp.StartAsync(Settings, kestrel: true);

    [OneTimeTearDown]
    public async Task StopAppAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}

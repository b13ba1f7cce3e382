using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Vigie.Stack;

namespace Vigie.Testing;

/// <summary>
/// The real app in-process against a real PostgreSQL: its own metrics port, log directory and secrets directory. The
/// database password is handed over as Compose does it: the connection string goes without it, and the password is
/// the file <c>db_password</c> of the secrets directory, read by the KeyPerFile provider.
/// Call <see cref="WaitUntilReadyAsync"/> before using it: migrations run in the background at start-up.
/// </summary>
public sealed class VigieAppFactory(string connectionString, IReadOnlyDictionary<string, string>? settings = null) : WebApplicationFactory<Program>
{
    /// <summary>The bearer token the app's alert inbox expects from Alertmanager in tests.</summary>
    public const string AlertmanagerToken = "test-alertmanager-token";

    /// <summary>Port of the sidecar metrics host.</summary>
    public int MetricsPort { get; } = FreePort.Next();

    /// <summary>Directory web.log is written to.</summary>
    public string LogDirectory { get; } = Directory.CreateTempSubdirectory("vigie-logs-").FullName;

    /// <summary>The app's secrets directory (the test's <c>/run/secrets</c>): <c>db_password</c> when the connection string had one.</summary>
    public string SecretsDirectory => Path.Combine(LogDirectory, "secrets");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:Vigie", PostgresCluster.HandOverPassword(connectionString, SecretsDirectory));
        builder.UseSetting("Metrics:Port", MetricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Metrics:Host", "127.0.0.1");
        builder.UseSetting("Logging:Directory", LogDirectory);
        builder.UseSetting("SecretsDirectory", SecretsDirectory);
        builder.UseSetting("Database:ProbeIntervalSeconds", "0.5");
        builder.UseSetting("alertmanager_token", AlertmanagerToken);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>Waits until <c>/health/ready</c> answers 200 (database migrated, model loaded).</summary>
    public async Task WaitUntilReadyAsync(TimeSpan? timeout = null)
    {
        using var client = CreateClient();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
            if (response.IsSuccessStatusCode)
            {
                return;
            }
            last = await response.Content.ReadAsStringAsync();
            await Task.Delay(200);
        }
        throw new TimeoutException("The app did not become ready: " + last);
    }
}

using System.Globalization;
using System.Net;
using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Browser.Harness;

/// <summary>
/// The real app on real Kestrel at http://127.0.0.1:&lt;free port&gt; against a real PostgreSQL, so the browser talks to it
/// over TCP exactly as it would in production (static files, cookies, antiforgery, downloads).
/// </summary>
public sealed class KestrelApp : IAsyncDisposable
{
    /// <summary>Where the status strip must link to: set as <c>Links:Grafana</c> / <c>Links:Prometheus</c>, so a test can tell configured URLs from defaults.</summary>
    public const string GrafanaUrl = "http://grafana.vigie.test:3000/d/vigie-overview";
    public const string PrometheusUrl = "http://prometheus.vigie.test:9090/graph";

    private readonly VigieAppFactory _factory;

    private KestrelApp(VigieAppFactory factory, int port)
    {
        _factory = factory;
        Port = port;
    }

    public int Port { get; }

    public string BaseUrl => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}");

    /// <summary>Starts the app (with <paramref name="settings"/> on top of the links) and waits until <c>/health/ready</c> answers (schema migrated, model trained).</summary>
    public static async Task<KestrelApp> StartAsync(string connectionString, IReadOnlyDictionary<string, string>? settings = null)
    {
        var all = new Dictionary<string, string>
        {
            ["Links:Grafana"] = GrafanaUrl,
            ["Links:Prometheus"] = PrometheusUrl,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }
        var factory = new VigieAppFactory(connectionString, all);
        var port = FreePort.Next();
        factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        try
        {
            factory.StartServer();
            await factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
        }
        catch
        {
            await factory.DisposeAsync();
            throw;
        }
        return new KestrelApp(factory, port);
    }

    /// <summary>A plain HTTP client for seeding data through the JSON API.</summary>
    public HttpClient NewApiClient() => new() { BaseAddress = new Uri(BaseUrl) };

    public ValueTask DisposeAsync() => _factory.DisposeAsync();
}

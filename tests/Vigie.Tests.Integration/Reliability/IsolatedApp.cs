using System.Globalization;
using System.Net;
using System.Text.Json;
using Npgsql;
using Vigie.Stack;
using Vigie.Testing;

// Deliberately outside Vigie.Tests.Integration: SharedApp, the SetUpFixture of that namespace, is then stopped while these
// tests run. They stop databases and start apps of their own, and an app shares process-wide state with any other app
// of the test process (prometheus-net's default registry, whose vigie_db_up the shared app's probe would keep at 1, and
// NLog's configuration).
namespace Vigie.Tests.Reliability;

/// <summary>
/// An app with a PostgreSQL cluster of its own, which a test may stop, restart or share with a second app; disposing it
/// stops the app and removes the cluster.
/// </summary>
internal sealed class IsolatedApp : IAsyncDisposable
{
    /// <summary>Short timeouts so an outage answers fast; the probe runs every 0.5 s (VigieAppFactory's default for tests).</summary>
    public static readonly IReadOnlyDictionary<string, string> FastTimeouts = new Dictionary<string, string>
    {
        ["Database:ConnectTimeoutSeconds"] = "2",
        ["Database:CommandTimeoutSeconds"] = "5",
    };

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly bool _ownsCluster;

    private IsolatedApp(PostgresCluster cluster, VigieAppFactory factory, int? port, bool ownsCluster)
    {
        _ownsCluster = ownsCluster;
        Cluster = cluster;
        Factory = factory;
        Port = port;
    }

    public PostgresCluster Cluster { get; }

    public VigieAppFactory Factory { get; }

    /// <summary>The Kestrel port, when the app runs on real Kestrel.</summary>
    public int? Port { get; }

    public Uri MetricsUrl => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Factory.MetricsPort}/metrics"));

    /// <summary>A new throwaway cluster (skips, or fails in CI, when PostgreSQL is not installed).</summary>
    public static async Task<PostgresCluster> NewClusterAsync()
    {
        Infrastructure.Require(PostgresCluster.IsInstalled, "PostgreSQL server binaries (initdb, pg_ctl) are not installed");
        return await PostgresCluster.CreateAsync();
    }

    /// <summary>A cluster and an app on it, ready; with <paramref name="kestrel"/> the app listens on a real loopback port.</summary>
    public static async Task<IsolatedApp> StartAsync(IReadOnlyDictionary<string, string>? settings = null, bool kestrel = false)
    {
        var cluster = await NewClusterAsync();
        try
        {
            var app = Create(cluster, settings, kestrel, ownsCluster: true);
            await app.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
            return app;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An app on <paramref name="cluster"/>, started (the host runs; migrations go on in the background) but not awaited
    /// ready. With <paramref name="ownsCluster"/> disposing the app removes the cluster too.
    /// </summary>
    public static IsolatedApp Create(PostgresCluster cluster, IReadOnlyDictionary<string, string>? settings = null, bool kestrel = false, bool ownsCluster = false)
    {
        var all = new Dictionary<string, string>(FastTimeouts);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }
        var factory = new VigieAppFactory(cluster.AppConnectionString, all);
        int? port = null;
        if (kestrel)
        {
            port = FreePort.Next();
            var listen = port.Value;
            factory.UseKestrel(options => options.Listen(IPAddress.Loopback, listen));
            factory.StartServer();
        }
        else
        {
            _ = factory.Server;
        }
        return new IsolatedApp(cluster, factory, port, ownsCluster);
    }

    /// <summary>
    /// A client over TCP to the Kestrel port (the app must run <c>kestrel: true</c>) that does not follow redirects and
    /// keeps cookies in <paramref name="cookies"/> (a fresh jar when null).
    /// </summary>
    public HttpClient NewKestrelClient(CookieContainer? cookies = null, TimeSpan? timeout = null) =>
        new(new SocketsHttpHandler { UseCookies = true, CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port ?? throw new InvalidOperationException("The app does not run on Kestrel.")}")),
            Timeout = timeout ?? TimeSpan.FromSeconds(60),
        };

    /// <summary>A client that does not follow redirects.</summary>
    public HttpClient NewClient() =>
        Factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    public async Task<long> CountAsync(string where = "true") =>
        await Cluster.ScalarAsync($"SELECT count(*) FROM predictions WHERE {where}");

    /// <summary>Rows of a query as the superuser.</summary>
    public Task<List<object?[]>> RowsAsync(string sql) => Sql.RowsAsync(Cluster.AdminConnectionString, sql);

    /// <summary>The value of an unlabelled sample, or of the sample with exactly <paramref name="labels"/>, in the sidecar's exposition.</summary>
    public static double? Sample(string exposition, string name, string labels = "")
    {
        var prefix = labels.Length == 0 ? name + " " : $"{name}{{{labels}}} ";
        var line = exposition.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? null : double.Parse(line[prefix.Length..].Trim(), CultureInfo.InvariantCulture);
    }

    public async Task<string> MetricsAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return await http.GetStringAsync(MetricsUrl);
    }

    public async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        if (_ownsCluster)
        {
            Cluster.Dispose();
        }
    }
}

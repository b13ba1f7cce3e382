using System.Globalization;

namespace Vigie.Stack;

/// <summary>
/// The stack of docker-compose.yml run from system packages on 127.0.0.1, for machines without a Docker engine and
/// for the tests: PostgreSQL, the app, Prometheus with the repository's configuration and rules (addresses
/// rewritten by <see cref="PrometheusConfig"/>), node-exporter, blackbox-exporter, and Grafana when installed.
/// Disposing it stops every process it started.
/// </summary>
public sealed class NativeStack : IAsyncDisposable
{
    private readonly List<ManagedProcess> _processes = [];
    private readonly Action<string> _log;

    /// <summary>This stack's hold on its state directory; null until taken (a refused run cleans up nothing).</summary>
    private StackClaim? _claim;

    private NativeStack(NativeStackOptions options, Action<string> log)
    {
        Options = options;
        _log = log;
    }

    public NativeStackOptions Options { get; }

    public PostgresCluster Database { get; private set; } = null!;

    public ManagedProcess App { get; private set; } = null!;

    /// <summary>Every process this stack started (PostgreSQL aside, which runs under <c>pg_ctl</c>).</summary>
    public IReadOnlyList<ManagedProcess> Processes => _processes;

    /// <summary>True when a Grafana binary was found and started.</summary>
    public bool HasGrafana { get; private set; }

    public Uri WebUrl => Local(Options.WebPort);
    public Uri MetricsUrl => new(Local(Options.MetricsPort), "/metrics");
    public Uri PrometheusUrl => Local(Options.PrometheusPort);
    public Uri GrafanaUrl => Local(Options.GrafanaPort);
    public Uri AlertmanagerUrl => Local(Options.AlertmanagerPort);

    /// <summary>The bearer token Alertmanager presents to the app's alert inbox (generated per run).</summary>
    public string AlertmanagerToken { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

    /// <summary>Starts everything and waits until the app is ready and Prometheus answers.</summary>
    public static async Task<NativeStack> StartAsync(NativeStackOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var stack = new NativeStack(options, log ?? (_ => { }));
        try
        {
            await stack.StartAllAsync(cancellationToken);
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
        return stack;
    }

    private async Task StartAllAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Options.WebAssembly))
        {
            throw new InvalidOperationException($"{Options.WebAssembly} is not built: run `dotnet build -c {Options.Configuration}` first.");
        }
        _claim = StackClaim.Take(Options.StateDirectory);
        _claim.Publish(new Dictionary<string, string>
        {
            ["web"] = WebUrl.ToString(),
            ["prometheus"] = PrometheusUrl.ToString(),
            ["alertmanager"] = AlertmanagerUrl.ToString(),
            // The port `backup` attaches to while the stack runs.
            ["postgres"] = Options.DatabasePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Directory.CreateDirectory(Options.LogDirectory);
        var processLogs = Path.Combine(Options.StateDirectory, "process-logs");

        _log($"PostgreSQL on 127.0.0.1:{Options.DatabasePort}");
        Database = await PostgresCluster.CreateAsync(
            Options.DurableDatabase ? Path.Combine(Options.StateDirectory, "postgres") : null, Options.DatabasePort, Options.DurableDatabase, Options.DatabaseSettings);
        WriteSecrets();

        var grafana = Executables.Find(Executables.Grafana);
        HasGrafana = grafana is not null;

        _log($"Vigie web on {WebUrl}, metrics sidecar on {MetricsUrl}");
        App = Track(ManagedProcess.Start("web", "dotnet", [Options.WebAssembly], Path.Combine(processLogs, "web.log"),
            AppEnvironment(Options.WebPort, Options.MetricsPort, Options.LogDirectory, Options.AppSettings), Path.GetDirectoryName(Options.WebAssembly)));

        // The backups' metrics file is read by node-exporter's textfile collector, as in Compose.
        var backupMetrics = Path.Combine(Options.Backups, "metrics");
        Directory.CreateDirectory(backupMetrics);
        _log($"node-exporter on 127.0.0.1:{Options.NodeExporterPort}");
        Track(ManagedProcess.Start("node-exporter", Executables.Require(Executables.NodeExporter, "prometheus-node-exporter"),
            [$"--web.listen-address=127.0.0.1:{Options.NodeExporterPort}", "--no-collector.systemd", $"--collector.textfile.directory={backupMetrics}"],
            Path.Combine(processLogs, "node-exporter.log")));

        _log($"postgres-exporter on 127.0.0.1:{Options.PostgresExporterPort}");
        Track(await StartPostgresExporterAsync(processLogs));

        _log($"blackbox-exporter on 127.0.0.1:{Options.BlackboxPort}");
        Track(ManagedProcess.Start("blackbox-exporter", Executables.Require(Executables.BlackboxExporter, "prometheus-blackbox-exporter"),
            [$"--config.file={Path.Combine(Options.RepositoryRoot, "prometheus", "blackbox.yml")}", $"--web.listen-address=127.0.0.1:{Options.BlackboxPort}"],
            Path.Combine(processLogs, "blackbox-exporter.log")));

        _log($"Alertmanager on {AlertmanagerUrl}");
        Track(ManagedProcess.Start("alertmanager", Executables.Require(Executables.Alertmanager, "prometheus-alertmanager"),
        [
            $"--config.file={WriteAlertmanagerConfig()}",
            $"--storage.path={Path.Combine(Options.StateDirectory, "alertmanager-data")}",
            $"--web.listen-address=127.0.0.1:{Options.AlertmanagerPort}",
            // It runs alone: no gossip port (Alertmanager would otherwise listen for peers on all interfaces).
            "--cluster.listen-address=",
        ], Path.Combine(processLogs, "alertmanager.log")));

        var configPath = WritePrometheusConfig();
        _log($"Prometheus on {PrometheusUrl}");
        List<string> prometheusArguments =
        [
            $"--config.file={configPath}",
            $"--storage.tsdb.path={Path.Combine(Options.StateDirectory, "prometheus-data")}",
            "--storage.tsdb.retention.time=7d",
            "--storage.tsdb.retention.size=512MB",
            $"--web.listen-address=127.0.0.1:{Options.PrometheusPort}",
        ];
        if (Options.FastTimings is not null)
        {
            // Prometheus drops the first notification when Alertmanager is not discovered yet and resends after this delay (1 min by default).
            prometheusArguments.Add($"--rules.alert.resend-delay={Options.FastTimings}");
        }
        Track(ManagedProcess.Start("prometheus", Executables.Require(Executables.Prometheus, "prometheus"), prometheusArguments,
            Path.Combine(processLogs, "prometheus.log")));

        if (grafana is not null)
        {
            _log($"Grafana on {GrafanaUrl}");
            Track(GrafanaProvisioning.Start(grafana, Options, PrometheusUrl, processLogs));
        }

        await WaitForAsync(App, new Uri(WebUrl, "/health/ready"), TimeSpan.FromSeconds(120), cancellationToken);
        await WaitForAsync(_processes.Single(p => p.Name == "prometheus"), new Uri(PrometheusUrl, "/-/ready"), TimeSpan.FromSeconds(60), cancellationToken);
        await WaitForAsync(_processes.Single(p => p.Name == "alertmanager"), new Uri(AlertmanagerUrl, "/-/ready"), TimeSpan.FromSeconds(60), cancellationToken);
    }

    /// <summary>
    /// postgres_exporter as <see cref="PostgresCluster.MonitorUser"/> (pg_monitor only), its password generated per run
    /// and handed over as a file, as Compose hands it the <c>pg_monitor_password</c> secret.
    /// </summary>
    private async Task<ManagedProcess> StartPostgresExporterAsync(string processLogs)
    {
        var password = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await Database.EnsureMonitorRoleAsync(password);
        var passwordFile = Path.Combine(SecretsDirectory, "pg_monitor_password");
        File.WriteAllText(passwordFile, password);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return ManagedProcess.Start("postgres-exporter", Executables.Require(Executables.PostgresExporter, "prometheus-postgres-exporter"),
        [
            $"--web.listen-address=127.0.0.1:{Options.PostgresExporterPort}",
            $"--extend.query-path={Path.Combine(Options.RepositoryRoot, "prometheus", "postgres-exporter-queries.yml")}",
        ], Path.Combine(processLogs, "postgres-exporter.log"), new Dictionary<string, string>
        {
            ["DATA_SOURCE_URI"] = $"127.0.0.1:{Database.Port.ToString(CultureInfo.InvariantCulture)}/{PostgresCluster.AppDatabase}?sslmode=disable",
            ["DATA_SOURCE_USER"] = PostgresCluster.MonitorUser,
            ["DATA_SOURCE_PASS_FILE"] = passwordFile,
        });
    }

    /// <summary>The app's environment: the stack's database, ports, log directory and links, then <paramref name="settings"/>.</summary>
    private Dictionary<string, string> AppEnvironment(int webPort, int metricsPort, string logDirectory, IReadOnlyDictionary<string, string> settings)
    {
        var environment = AppProcessEnvironment(Options.RepositoryRoot, webPort, metricsPort, Database.AppConnectionString, logDirectory, SecretsDirectory);
        environment["Links__Grafana"] = GrafanaUrl.ToString().TrimEnd('/');
        environment["Links__GrafanaInstalled"] = HasGrafana ? "true" : "false";
        environment["Links__Prometheus"] = PrometheusUrl.ToString().TrimEnd('/');
        environment["Alerts__PrometheusUrl"] = PrometheusUrl.ToString().TrimEnd('/');
        if (Options.FastTimings is not null)
        {
            environment["Database__ProbeIntervalSeconds"] = "0.5";
        }
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }
        return environment;
    }

    /// <summary>
    /// What every app run from the build output needs, here or alone (<see cref="AppProcess"/>): its port on 127.0.0.1,
    /// the sidecar's, the database (its password as a file of <paramref name="secretsDirectory"/>, as in Compose), the log
    /// directory, and the static files of the sources.
    /// </summary>
    internal static Dictionary<string, string> AppProcessEnvironment(string repositoryRoot, int webPort, int metricsPort, string connectionString, string logDirectory, string secretsDirectory) => new()
    {
        ["ASPNETCORE_URLS"] = Local(webPort).ToString().TrimEnd('/'),
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        // The app runs from its build output, which has no wwwroot (only a publish copies it): the pages' CSS and
        // icons are served from the sources.
        ["ASPNETCORE_WEBROOT"] = Path.Combine(repositoryRoot, "src", "Web", "wwwroot"),
        ["ConnectionStrings__Vigie"] = PostgresCluster.HandOverPassword(connectionString, secretsDirectory),
        ["Metrics__Port"] = metricsPort.ToString(CultureInfo.InvariantCulture),
        ["Metrics__Host"] = "127.0.0.1",
        ["Logging__Directory"] = logDirectory,
        ["SecretsDirectory"] = secretsDirectory,
        // A 2 MB young generation, as the image sets it (src/Web/Dockerfile says why): the GC reads it from the environment only.
        ["DOTNET_GCgen0size"] = "0x200000",
    };

    /// <summary>
    /// Starts one more instance of the app on the stack's database (not scraped by Prometheus), with
    /// <paramref name="settings"/> over the stack's own app settings, and waits until it is ready. The benchmark runs
    /// one with metrics disabled beside the main one; the stack stops it with everything else.
    /// </summary>
    public async Task<ManagedProcess> StartAppAsync(string name, int webPort, int metricsPort, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken = default)
    {
        var app = LaunchApp(name, webPort, metricsPort, settings);
        await WaitForAsync(app, new Uri(Local(webPort), "/health/ready"), TimeSpan.FromSeconds(120), cancellationToken);
        return app;
    }

    /// <summary>
    /// Starts one more instance as <see cref="StartAppAsync"/> does, without waiting for it: the benchmark times its
    /// start-up itself. The stack stops it with everything else, unless it was disposed before.
    /// </summary>
    public ManagedProcess LaunchApp(string name, int webPort, int metricsPort, IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var logDirectory = Path.Combine(Options.StateDirectory, name + "-logs");
        Directory.CreateDirectory(logDirectory);
        var merged = new Dictionary<string, string>(Options.AppSettings);
        foreach (var (key, value) in settings)
        {
            merged[key] = value;
        }
        _log($"Vigie web ({name}) on {Local(webPort)}, metrics sidecar on 127.0.0.1:{metricsPort}");
        return Track(ManagedProcess.Start(name, "dotnet", [Options.WebAssembly], Path.Combine(Options.StateDirectory, "process-logs", name + ".log"),
            AppEnvironment(webPort, metricsPort, logDirectory, merged), Path.GetDirectoryName(Options.WebAssembly)));
    }

    /// <summary>Writes the rewritten prometheus.yml (and, with fast timings, rewritten rules) into the state directory.</summary>
    private string WritePrometheusConfig()
    {
        var sourceDirectory = Path.Combine(Options.RepositoryRoot, "prometheus");
        var configDirectory = sourceDirectory;
        var yaml = File.ReadAllText(Path.Combine(sourceDirectory, "prometheus.yml"));
        if (Options.FastTimings is { } fast)
        {
            configDirectory = Options.StateDirectory;
            var rules = Path.Combine(Options.StateDirectory, "rules");
            Directory.CreateDirectory(rules);
            foreach (var file in Directory.GetFiles(Path.Combine(sourceDirectory, "rules"), "*.yml"))
            {
                File.WriteAllText(Path.Combine(rules, Path.GetFileName(file)), PrometheusConfig.ShortenTimings(File.ReadAllText(file), fast));
            }
            yaml = PrometheusConfig.ShortenTimings(yaml, fast);
        }
        var absent = HasGrafana ? Array.Empty<string>() : ["grafana"];
        var rewritten = PrometheusConfig.Rewrite(yaml, NativeAddresses(), configDirectory, absent);
        var target = Path.Combine(Options.StateDirectory, "prometheus.yml");
        File.WriteAllText(target, rewritten);
        return target;
    }

    /// <summary>
    /// The secrets directory the app reads (KeyPerFile), laid out as Compose mounts <c>/run/secrets</c>: the database
    /// password (written with the app's environment) and Alertmanager's token, so the native app takes the same path to
    /// its passwords as the container.
    /// </summary>
    private string SecretsDirectory => Path.Combine(Options.StateDirectory, "secrets");

    private void WriteSecrets()
    {
        Directory.CreateDirectory(SecretsDirectory);
        File.WriteAllText(Path.Combine(SecretsDirectory, "alertmanager_token"), AlertmanagerToken);
    }

    /// <summary>Writes alertmanager.yml with the native webhook address, the run's token file and, for tests, short waits.</summary>
    private string WriteAlertmanagerConfig()
    {
        // The file the app reads from its secrets directory, as both containers mount one Compose secret.
        var tokenFile = Path.Combine(SecretsDirectory, "alertmanager_token");
        var yaml = File.ReadAllText(Path.Combine(Options.RepositoryRoot, "prometheus", "alertmanager.yml"))
            .Replace("/run/secrets/alertmanager_token", tokenFile, StringComparison.Ordinal);
        if (Options.FastTimings is { } fast)
        {
            yaml = PrometheusConfig.ShortenTimings(yaml, fast);
        }
        var target = Path.Combine(Options.StateDirectory, "alertmanager.yml");
        File.WriteAllText(target, PrometheusConfig.Rewrite(yaml, NativeAddresses(), Options.StateDirectory));
        return target;
    }

    /// <summary>Compose address → native address of every service this run starts.</summary>
    private Dictionary<string, string> NativeAddresses() => new()
    {
        ["web:8081"] = $"127.0.0.1:{Options.MetricsPort}",
        ["web:8080"] = $"127.0.0.1:{Options.WebPort}",
        ["node-exporter:9100"] = $"127.0.0.1:{Options.NodeExporterPort}",
        ["blackbox-exporter:9115"] = $"127.0.0.1:{Options.BlackboxPort}",
        ["prometheus:9090"] = $"127.0.0.1:{Options.PrometheusPort}",
        ["localhost:9090"] = $"127.0.0.1:{Options.PrometheusPort}",
        ["grafana:3000"] = $"127.0.0.1:{Options.GrafanaPort}",
        ["alertmanager:9093"] = $"127.0.0.1:{Options.AlertmanagerPort}",
        ["postgres-exporter:9187"] = $"127.0.0.1:{Options.PostgresExporterPort}",
    };

    /// <summary>
    /// Polls Prometheus until every target is healthy (scraped, and each blackbox probe succeeded); returns the targets
    /// seen last.
    /// </summary>
    public async Task<IReadOnlyList<ScrapeTarget>> WaitForTargetsUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<ScrapeTarget> targets = [];
        while (DateTime.UtcNow < deadline)
        {
            targets = await ScrapeTarget.ReadAsync(http, PrometheusUrl, cancellationToken);
            if (targets.Count > 0 && targets.All(t => t.IsHealthy))
            {
                return targets;
            }
            await Task.Delay(500, cancellationToken);
        }
        return targets;
    }

    private ManagedProcess Track(ManagedProcess process)
    {
        _processes.Add(process);
        new PidFile(Path.Combine(Options.StateDirectory, "pids")).Record(process.Id, process.Name);
        return process;
    }

    internal static async Task WaitForAsync(ManagedProcess process, Uri url, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.Name} exited during start-up:\n{process.Tail()}");
            }
            if (await AnswersOkAsync(http, url, cancellationToken))
            {
                return;
            }
            await Task.Delay(250, cancellationToken);
        }
        throw new TimeoutException($"{process.Name} did not answer {url} within {timeout.TotalSeconds:0} s:\n{process.Tail()}");
    }

    /// <summary>True when <paramref name="url"/> answers 2xx; false when it answers otherwise, refuses or times out.</summary>
    internal static async Task<bool> AnswersOkAsync(HttpClient http, Uri url, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        try
        {
            using var response = await http.GetAsync(url, cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    private static Uri Local(int port) => new($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>Stops every process, newest first, then the database; a stack that never claimed its state directory touches nothing.</summary>
    public ValueTask DisposeAsync()
    {
        if (_claim is null)
        {
            return ValueTask.CompletedTask;
        }
        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            _processes[i].Dispose();
        }
        _processes.Clear();
        Database?.Dispose();
        var pids = Path.Combine(Options.StateDirectory, "pids");
        if (File.Exists(pids))
        {
            File.Delete(pids);
        }
        _claim.Dispose();
        _claim = null;
        return ValueTask.CompletedTask;
    }
}

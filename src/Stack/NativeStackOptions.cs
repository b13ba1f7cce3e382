namespace Vigie.Stack;

/// <summary>Where and on which ports the native stack runs. Every server binds to 127.0.0.1 only.</summary>
public sealed record NativeStackOptions
{
    /// <summary>The repository (holding prometheus/, grafana/, src/Web).</summary>
    public required string RepositoryRoot { get; init; }

    /// <summary>Git-ignored folder for the database cluster, Prometheus' data and generated configuration.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Where the app writes web.log.</summary>
    public required string LogDirectory { get; init; }

    /// <summary>Build configuration of the app to run (its Vigie.Web.dll must be built).</summary>
    public string Configuration { get; init; } = "Release";

    /// <summary>Keeps PostgreSQL's data across runs with fsync on; tests use a throwaway, unsynced cluster.</summary>
    public bool DurableDatabase { get; init; } = true;

    /// <summary>
    /// More PostgreSQL server settings for this run only (e.g. the benchmark preloads <c>pg_stat_statements</c> to see
    /// PostgreSQL's own cost per statement); fsync and synchronous_commit are never among them.
    /// </summary>
    public IReadOnlyDictionary<string, string> DatabaseSettings { get; init; } = new Dictionary<string, string>();

    public int WebPort { get; init; } = FreePort.Next();
    public int MetricsPort { get; init; } = FreePort.Next();
    public int DatabasePort { get; init; } = FreePort.Next();
    public int PrometheusPort { get; init; } = FreePort.Next();
    public int NodeExporterPort { get; init; } = FreePort.Next();
    public int BlackboxPort { get; init; } = FreePort.Next();
    public int GrafanaPort { get; init; } = FreePort.Next();
    public int AlertmanagerPort { get; init; } = FreePort.Next();
    public int PostgresExporterPort { get; init; } = FreePort.Next();

    /// <summary>
    /// Where backups are written (<c>vigie-*.dump</c>) and their metrics file (<c>metrics/vigie_backup.prom</c>, read by
    /// node-exporter's textfile collector); the state directory's <c>backups</c> unless set.
    /// </summary>
    public string? BackupDirectory { get; init; }

    /// <summary>The backup directory in effect.</summary>
    public string Backups => BackupDirectory ?? Path.Combine(StateDirectory, "backups");

    /// <summary>
    /// When set (e.g. "1s"), every waiting time of the rules and of Alertmanager (<c>for:</c>, intervals, group waits)
    /// is shortened to it, so an end-to-end test sees an alert fire and resolve in seconds.
    /// </summary>
    public string? FastTimings { get; init; }

    /// <summary>Extra settings for the app (configuration keys with <c>__</c> separators).</summary>
    public IReadOnlyDictionary<string, string> AppSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>Path of the app's entry assembly for <see cref="Configuration"/>.</summary>
    public string WebAssembly => WebAssemblyOf(RepositoryRoot, Configuration);

    /// <summary>Path of the app's entry assembly built in <paramref name="configuration"/> under <paramref name="repositoryRoot"/>.</summary>
    public static string WebAssemblyOf(string repositoryRoot, string configuration) =>
        Path.Combine(repositoryRoot, "src", "Web", "bin", configuration, "net10.0", "Vigie.Web.dll");
}

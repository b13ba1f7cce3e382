namespace Vigie.Stack;

/// <summary>Finds programs on PATH under the names Debian's packages and upstream releases give them.</summary>
public static class Executables
{
    public static readonly string[] Prometheus = ["prometheus"];
    public static readonly string[] Promtool = ["promtool"];
    public static readonly string[] NodeExporter = ["prometheus-node-exporter", "node_exporter"];
    public static readonly string[] BlackboxExporter = ["prometheus-blackbox-exporter", "blackbox_exporter"];
    public static readonly string[] Grafana = ["grafana-server", "grafana"];
    public static readonly string[] Alertmanager = ["prometheus-alertmanager", "alertmanager"];
    public static readonly string[] Amtool = ["amtool"];
    public static readonly string[] PostgresExporter = ["prometheus-postgres-exporter", "postgres_exporter"];

    /// <summary>Full path of the first of <paramref name="names"/> found on PATH, or null.</summary>
    public static string? Find(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries);
        return names.SelectMany(name => directories.Select(dir => Path.Combine(dir, name))).FirstOrDefault(File.Exists);
    }

    /// <summary>Like <see cref="Find"/>, but says which package to install when nothing is found.</summary>
    public static string Require(IEnumerable<string> names, string package) =>
        Find(names) ?? throw new InvalidOperationException($"{string.Join(" or ", names)} not found on PATH: install the Debian package '{package}'.");
}

using System.Globalization;

namespace Vigie.Stack;

/// <summary>
/// Runs an installed Grafana with the repository's provisioning: the same datasource and dashboards as in compose,
/// with the datasource pointed at the native Prometheus and the dashboards read from the repository.
/// </summary>
internal static class GrafanaProvisioning
{
    private static readonly string[] HomeCandidates = ["/usr/share/grafana", "/opt/grafana"];

    public static ManagedProcess Start(string grafana, NativeStackOptions options, Uri prometheus, string processLogs)
    {
        var home = Path.Combine(options.StateDirectory, "grafana");
        var provisioning = Path.Combine(home, "provisioning");
        var repository = Path.Combine(options.RepositoryRoot, "grafana", "provisioning");
        Directory.CreateDirectory(Path.Combine(provisioning, "datasources"));
        Directory.CreateDirectory(Path.Combine(provisioning, "dashboards"));
        File.WriteAllText(Path.Combine(provisioning, "datasources", "datasources.yml"),
            File.ReadAllText(Path.Combine(repository, "datasources", "datasources.yml")).Replace("http://prometheus:9090", prometheus.ToString().TrimEnd('/'), StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(provisioning, "dashboards", "dashboards.yml"),
            File.ReadAllText(Path.Combine(repository, "dashboards", "dashboards.yml")).Replace("/etc/grafana/provisioning/dashboards/json", Path.Combine(repository, "dashboards", "json"), StringComparison.Ordinal));

        var homePath = HomeCandidates.FirstOrDefault(Directory.Exists) ?? Path.GetDirectoryName(Path.GetDirectoryName(grafana))!;
        var environment = new Dictionary<string, string>
        {
            ["GF_PATHS_PROVISIONING"] = provisioning,
            ["GF_PATHS_DATA"] = Path.Combine(home, "data"),
            ["GF_PATHS_LOGS"] = Path.Combine(home, "logs"),
            ["GF_SERVER_HTTP_ADDR"] = "127.0.0.1",
            ["GF_SERVER_HTTP_PORT"] = options.GrafanaPort.ToString(CultureInfo.InvariantCulture),
            ["GF_USERS_ALLOW_SIGN_UP"] = "false",
            ["GF_AUTH_ANONYMOUS_ENABLED"] = "false",
        };
        var arguments = Path.GetFileName(grafana) == "grafana" ? new[] { "server", "--homepath", homePath } : ["--homepath", homePath];
        return ManagedProcess.Start("grafana", grafana, arguments, Path.Combine(processLogs, "grafana.log"), environment);
    }
}

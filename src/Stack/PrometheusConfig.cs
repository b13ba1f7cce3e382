using System.Text.RegularExpressions;

namespace Vigie.Stack;

/// <summary>
/// Turns the repository's <c>prometheus/prometheus.yml</c>, written for the compose network (<c>web:8081</c>,
/// <c>node-exporter:9100</c>…), into the configuration of a native run on 127.0.0.1. Only addresses change:
/// every literal <c>host:port</c> of the compose network is replaced by its native address, the rule files are
/// referenced by absolute path, and probes of services the native run does not start are removed. The native stack
/// and the tests use this one transformation, so what the tests prove is what the repository's file does.
/// </summary>
public static partial class PrometheusConfig
{
    /// <summary>Rewrites <paramref name="yaml"/>.</summary>
    /// <param name="yaml">The compose configuration.</param>
    /// <param name="addresses">Compose address → native address, e.g. <c>web:8081</c> → <c>127.0.0.1:18081</c>.</param>
    /// <param name="configDirectory">Directory of the original file, against which <c>rule_files</c> are resolved.</param>
    /// <param name="absentHosts">Compose hosts with no native counterpart (e.g. <c>grafana</c> when it is not installed): lines targeting them are dropped.</param>
    public static string Rewrite(string yaml, IReadOnlyDictionary<string, string> addresses, string configDirectory, IEnumerable<string>? absentHosts = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(addresses);
        var absent = (absentHosts ?? []).ToList();
        var lines = yaml.Split('\n')
            .Where(line => !absent.Any(host => Regex.IsMatch(line, $@"^\s*-\s*[""']?(https?://)?{Regex.Escape(host)}:\d+")));
        var result = string.Join('\n', lines);
        foreach (var (from, to) in addresses)
        {
            result = Regex.Replace(result, $@"(?<=[""'/\s\[,]){Regex.Escape(from)}(?=[""'/\s\],]|$)", to, RegexOptions.Multiline);
        }
        return RuleFile().Replace(result, match =>
        {
            var path = match.Groups["path"].Value;
            var absolute = Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(configDirectory, path));
            return $"{match.Groups["lead"].Value}\"{absolute}\"";
        });
    }

    /// <summary>
    /// Shortens the waiting times of a Prometheus or Alertmanager file (rule <c>for:</c>, evaluation and scrape
    /// intervals, Alertmanager's group waits) to <paramref name="value"/>, so a test sees in seconds what production
    /// waits minutes for. Only durations change; expressions, thresholds and routes stay as committed.
    /// </summary>
    public static string ShortenTimings(string yaml, string value)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        return Timing().Replace(yaml, match => match.Groups["lead"].Value + value);
    }

    /// <summary>Every <c>host:port</c> literal the file targets, for checking that a rewrite left none behind.</summary>
    public static IReadOnlyList<string> ComposeAddresses(string yaml) =>
        Address().Matches(yaml ?? string.Empty).Select(m => m.Groups[1].Value).Distinct().ToList();

    [GeneratedRegex(@"(?<lead>^\s*(for|evaluation_interval|scrape_interval|scrape_timeout|group_wait|group_interval):\s*)\S+", RegexOptions.Multiline)]
    private static partial Regex Timing();

    // A list entry under rule_files: `  - "rules/*.yml"`.
    [GeneratedRegex(@"(?<lead>^\s*-\s*)[""']?(?<path>[^""'\s]*rules/[^""'\s]*)[""']?\s*$", RegexOptions.Multiline)]
    private static partial Regex RuleFile();

    [GeneratedRegex(@"[""'/\s\[]([a-z][a-z0-9-]*:\d{2,5})(?=[""'/\s\],])")]
    private static partial Regex Address();
}

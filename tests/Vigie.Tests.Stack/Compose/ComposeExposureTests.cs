using System.Text.RegularExpressions;

namespace Vigie.Tests.Stack.Compose;

/// <summary>docker-compose.yml: what it publishes, which images it runs, and that every variable comes from .env.</summary>
public sealed partial class ComposeExposureTests
{
    /// <summary>The only services with a UI or a client port worth publishing (the exporters are scraped in-network).</summary>
    private static readonly string[] AllowedPublishers = ["web", "grafana", "prometheus", "db", "uptime-kuma"];

    private static ComposeFile Compose => ComposeFile.Current;

    [Test]
    public void Only_web_grafana_prometheus_db_and_uptime_kuma_publish_ports()
    {
        var publishers = Compose.Services.Keys.Where(name => Compose.Ports(name).Any()).ToList();
        Assert.That(publishers, Is.SubsetOf(AllowedPublishers), $"services publishing ports: [{string.Join(", ", publishers)}]");
        Assert.That(publishers, Is.SupersetOf(new[] { "web", "grafana", "prometheus" }), "the UIs must be reachable from the host");
    }

    [Test]
    public void Every_published_port_is_bound_to_the_bind_address_variable()
    {
        var problems = new List<string>();
        foreach (var name in Compose.Services.Keys)
        {
            foreach (var port in Compose.Ports(name))
            {
                var match = BoundPort().Match(port);
                if (!match.Success)
                {
                    problems.Add($"service {name} publishes '{port}': bind it to ${{BIND_ADDRESS:-127.0.0.1}} (or ${{DB_BIND_ADDRESS:-127.0.0.1}}), as host_ip:host_port:container_port");
                }
                else if (match.Groups["default"].Success && !IsLoopback(match.Groups["default"].Value))
                {
                    problems.Add($"service {name} publishes '{port}': the default bind address must be loopback");
                }
                else if (Compose.Env.TryInterpolate(port, out var problem) is null)
                {
                    problems.Add($"service {name} publishes '{port}': {problem}");
                }
            }
        }
        Assert.That(problems, Is.Empty);
    }

    [TestCase("BIND_ADDRESS")]
    [TestCase("DB_BIND_ADDRESS")]
    public void The_committed_bind_address_is_loopback(string variable)
    {
        Assert.That(Compose.Env.Values.TryGetValue(variable, out var value), Is.True, $"{variable} is not defined in .env");
        Assert.That(IsLoopback(value!), Is.True, $".env sets {variable}={value}: the committed default must keep the stack private (127.0.0.1)");
    }

    [Test]
    public void Web_publishes_the_ui_port_but_never_the_metrics_port()
    {
        var targets = Compose.Ports("web").Select(port => port.Split(':')[^1].Split('/')[0]).ToList();
        Assert.That(targets, Does.Contain("8080"), "web must publish its UI/API port 8080");
        Assert.That(targets, Does.Not.Contain("8081"), "web must not publish the sidecar metrics port 8081: Prometheus scrapes it on app_network");
    }

    [Test]
    public void Every_image_is_pinned_through_a_variable_of_env()
    {
        var problems = new List<string>();
        foreach (var (name, service) in Compose.Services)
        {
            if (service.StringAt("image") is not { } raw)
            {
                problems.Add($"service {name} has no image: (name the image, pinned, even when it is built)");
                continue;
            }
            // The whole reference (POSTGRES_IMAGE, so a stand-in or a mirror can replace it) or its tag (VIGIE_VERSION).
            var (_, rawTag) = SplitImage(raw);
            if (!EnvFile.References(rawTag ?? raw).Any())
            {
                problems.Add($"service {name}: image '{raw}' does not take its reference or tag from a variable in .env");
                continue;
            }
            if (Compose.Env.TryInterpolate(raw, out var problem) is not { } resolved)
            {
                problems.Add($"service {name}: image '{raw}': {problem}");
                continue;
            }
            var (_, tag) = SplitImage(resolved);
            if (string.IsNullOrWhiteSpace(tag) || tag.Equals("latest", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"service {name}: image '{raw}' resolves to '{resolved}', which is not pinned to a version");
            }
        }
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Nothing_in_the_compose_file_or_env_says_latest()
    {
        var inCompose = YamlTree.Scalars(Compose.Root)
            .Select(s => (s.Path, Value: Compose.Env.TryInterpolate(s.Value, out _) ?? s.Value))
            .Where(s => Latest().IsMatch(s.Value))
            .Select(s => $"docker-compose.yml {s.Path} = '{s.Value}'");
        var inEnv = Compose.Env.Values.Where(v => Latest().IsMatch(v.Value)).Select(v => $".env {v.Key}={v.Value}");
        Assert.That(inCompose.Concat(inEnv), Is.Empty, "'latest' is not a version: pin it");
    }

    [Test]
    public void Every_variable_in_the_compose_file_is_defined_in_env()
    {
        var problems = new List<string>();
        var used = 0;
        foreach (var (path, value) in YamlTree.Scalars(Compose.Root))
        {
            IEnumerable<(string Name, string? Default)> references;
            try
            {
                references = EnvFile.References(value).ToList();
            }
            catch (FormatException e)
            {
                problems.Add($"{path}: {e.Message}");
                continue;
            }
            foreach (var (variable, _) in references)
            {
                used++;
                if (!Compose.Env.Values.TryGetValue(variable, out var defined))
                {
                    problems.Add($"${{{variable}}} (at {path}) is not defined in .env");
                }
                else if (defined.Length == 0)
                {
                    problems.Add($"${{{variable}}} (at {path}) is empty in .env");
                }
            }
        }
        Assert.That(used, Is.GreaterThan(10), "the compose file should take ports, versions and limits from .env");
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void The_web_app_answers_the_host_names_the_monitoring_reaches_it_by_and_no_others()
    {
        var allowed = (Compose.Resolved("web", "environment", "AllowedHosts") ?? string.Empty)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // Every http://host:8080/ address of the web app in Prometheus' and Alertmanager's configuration.
        var used = new[] { "prometheus.yml", "alertmanager.yml" }
            .SelectMany(file => System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(Path.Combine(Compose.Folder, "prometheus", file)), "https?://([a-z0-9.-]+):8080/"))
            .Select(m => m.Groups[1].Value)
            .Distinct()
            .ToList();
        Assert.Multiple(() =>
        {
            Assert.That(used, Does.Contain("web"), "the blackbox probe and Alertmanager reach the app as web:8080");
            Assert.That(allowed, Is.SupersetOf(used).And.SupersetOf(new[] { "localhost", "127.0.0.1" }), $"AllowedHosts of web is '{string.Join(';', allowed)}'");
            Assert.That(allowed, Does.Not.Contain("*"), "the committed default restricts host names (DNS rebinding)");
        });
    }

    [Test]
    public void The_env_file_has_only_well_formed_unique_lines()
    {
        Assert.That(Compose.Env.Problems, Is.Empty);
        Assert.That(Compose.Env.Values, Is.Not.Empty, ".env defines nothing");
    }

    internal static (string Repository, string? Tag) SplitImage(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        var name = at < 0 ? image : image[..at];
        var digest = at < 0 ? null : image[(at + 1)..];
        // The tag follows the last colon that comes after the last slash (a registry may carry a :port).
        // Variables (${VAR:-x}) may hold colons and slashes of their own: mask them first.
        var masked = MaskVariables(name);
        var colon = masked.LastIndexOf(':');
        var tag = colon > masked.LastIndexOf('/') ? name[(colon + 1)..] : null;
        var repository = tag is null ? name : name[..colon];
        return (repository, tag ?? digest);
    }

    private static string MaskVariables(string text)
    {
        var chars = text.ToCharArray();
        var depth = 0;
        for (var i = 0; i < chars.Length; i++)
        {
            if (chars[i] == '$' && i + 1 < chars.Length && chars[i + 1] == '{')
            {
                depth++;
            }
            else if (chars[i] == '}' && depth > 0)
            {
                depth--;
                chars[i] = '_';
                continue;
            }
            if (depth > 0)
            {
                chars[i] = '_';
            }
        }
        return new string(chars);
    }

    private static bool IsLoopback(string address) =>
        System.Net.IPAddress.TryParse(address.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip);

    [GeneratedRegex(@"^\$\{(?:BIND_ADDRESS|DB_BIND_ADDRESS)(?::-(?<default>[^}]*))?\}:(?:\$\{[^}]+\}|\d+):\d+(?:/(?:tcp|udp))?$")]
    private static partial Regex BoundPort();

    [GeneratedRegex(@"(?i)(^|[:@\s=])latest($|\b)")]
    private static partial Regex Latest();
}

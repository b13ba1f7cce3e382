using Vigie.Testing;

namespace Vigie.Tests.Stack.Compose;

/// <summary>docker-compose.yml: bind mounts, named volumes, Prometheus retention and node-exporter's host view.</summary>
public sealed class ComposeStorageTests
{
    /// <summary>Bind mounts a service may write to; every other bind mount is configuration and must be read-only.</summary>
    private static readonly string[] WritableBindMounts = ["web ./logs", "logs-init ./logs"];

    /// <summary>Host paths outside the repository a service may see (read-only): node-exporter's view of the host.</summary>
    private static readonly string[] HostPathMounts = ["node-exporter /proc", "node-exporter /sys", "node-exporter /"];

    private static ComposeFile Compose => ComposeFile.Current;

    [Test]
    public void Every_bind_mount_source_exists_in_the_repository()
    {
        var problems = new List<string>();
        var binds = 0;
        foreach (var name in Compose.Services.Keys)
        {
            foreach (var mount in Compose.Mounts(name).Where(m => m.IsBind))
            {
                binds++;
                if (mount.Source.StartsWith('/'))
                {
                    if (!HostPathMounts.Contains($"{name} {mount.Source}"))
                    {
                        problems.Add($"service {name} mounts host path {mount.Source}: only [{string.Join(", ", HostPathMounts)}] may see the host");
                    }
                    continue;
                }
                var path = Path.GetFullPath(Path.Combine(Infrastructure.RepositoryRoot, mount.Source));
                if (!path.StartsWith(Infrastructure.RepositoryRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    problems.Add($"service {name} mounts {mount.Source}, outside the repository");
                }
                else if (!File.Exists(path) && !Directory.Exists(path))
                {
                    problems.Add($"service {name} mounts {mount.Source}, which does not exist in the repository (Docker would create an empty root-owned directory)");
                }
            }
        }
        Assert.That(binds, Is.GreaterThanOrEqualTo(4), "expected the config, log and host bind mounts");
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Configuration_bind_mounts_are_read_only()
    {
        var problems = Compose.Services.Keys
            .SelectMany(name => Compose.Mounts(name).Where(m => m.IsBind && !m.ReadOnly && !WritableBindMounts.Contains($"{name} {m.Source}"))
                .Select(m => $"service {name} mounts {m.Text} read-write: add :ro (only [{string.Join(", ", WritableBindMounts)}] are writable)"))
            .ToList();
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Web_writes_its_logs_to_the_shared_logs_folder()
    {
        Assert.That(Compose.Mounts("web").Select(m => $"{m.Source}:{m.Target}"), Does.Contain("./logs:/logs"), "web must mount ./logs:/logs");
        Assert.That(Compose.Resolved("web", "environment", "Logging__Directory"), Is.EqualTo("/logs"), "web: Logging__Directory");
    }

    [TestCase("db", "/var/lib/postgresql/data")]
    [TestCase("prometheus", "/prometheus")]
    [TestCase("grafana", "/var/lib/grafana")]
    public void Data_lives_in_a_named_volume(string service, string target)
    {
        var mount = Compose.Mounts(service).FirstOrDefault(m => m.Target == target);
        Assert.That(mount, Is.Not.Null, $"service {service} has no volume at {target}");
        Assert.That(mount!.IsBind, Is.False, $"service {service}: {mount.Text} must be a named volume, not a bind mount");
        Assert.That(mount.Source, Is.Not.Empty, $"service {service}: {mount.Text} is an anonymous volume; name it");
        Assert.That((Compose.Root.At("volumes").AsMap() ?? []).Keys, Does.Contain(mount.Source), $"volume {mount.Source} is not declared under the top-level volumes:");
    }

    [Test]
    public void Every_named_volume_is_declared()
    {
        var declared = (Compose.Root.At("volumes").AsMap() ?? []).Keys.ToHashSet(StringComparer.Ordinal);
        var problems = Compose.Services.Keys
            .SelectMany(name => Compose.Mounts(name).Where(m => !m.IsBind && m.Source.Length > 0 && !declared.Contains(m.Source))
                .Select(m => $"service {name} uses volume {m.Source}, which is not declared under the top-level volumes:"))
            .ToList();
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Prometheus_retention_is_bounded_by_time_and_size()
    {
        var flags = Compose.Services["prometheus"].At("command").AsStrings()
            .Select(arg => Compose.Env.Interpolate(arg))
            .Select(arg => arg.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
        Assert.Multiple(() =>
        {
            Assert.That(flags.GetValueOrDefault("--storage.tsdb.retention.time"), Does.Match(@"^([1-9]\d*(y|w|d|h|m|s|ms))+$"),
                "prometheus: --storage.tsdb.retention.time=<duration> (e.g. 15d) must be set");
            Assert.That(flags.GetValueOrDefault("--storage.tsdb.retention.size"), Does.Match(@"^[1-9]\d*(\.\d+)?(B|KB|MB|GB|TB|PB|EB)$"),
                "prometheus: --storage.tsdb.retention.size=<size> (e.g. 1GB) must be set");
            Assert.That(flags.GetValueOrDefault("--storage.tsdb.path"), Is.EqualTo("/prometheus"), "prometheus: the TSDB must live on the named volume at /prometheus");
        });
    }

    [TestCase("/proc", "--path.procfs")]
    [TestCase("/sys", "--path.sysfs")]
    [TestCase("/", "--path.rootfs")]
    public void Node_exporter_sees_the_host_read_only(string hostPath, string flag)
    {
        var mount = Compose.Mounts("node-exporter").FirstOrDefault(m => m.Source == hostPath);
        Assert.That(mount, Is.Not.Null, $"node-exporter must mount the host's {hostPath}");
        Assert.That(mount!.ReadOnly, Is.True, $"node-exporter: {mount.Text} must be read-only (:ro)");
        var command = Compose.Services["node-exporter"].At("command").AsStrings();
        Assert.That(command, Does.Contain($"{flag}={mount.Target}"), $"node-exporter must read the host's {hostPath} through {flag}={mount.Target}");
    }

    [Test]
    public void The_mounted_prometheus_configuration_and_grafana_provisioning_exist()
    {
        var expected = new[] { "prometheus/prometheus.yml", "prometheus/blackbox.yml", "grafana/provisioning/datasources", "grafana/provisioning/dashboards" };
        var missing = expected.Where(p => !File.Exists(Path.Combine(Infrastructure.RepositoryRoot, p)) && !Directory.Exists(Path.Combine(Infrastructure.RepositoryRoot, p)));
        Assert.That(missing, Is.Empty, "configuration the compose file mounts is missing from the repository");
        Assert.That(Compose.Mounts("prometheus").Select(m => m.Source), Does.Contain("./prometheus"));
        Assert.That(Compose.Mounts("grafana").Select(m => m.Source), Does.Contain("./grafana/provisioning"));
    }
}

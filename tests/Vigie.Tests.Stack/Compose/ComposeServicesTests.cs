using System.Globalization;

namespace Vigie.Tests.Stack.Compose;

/// <summary>docker-compose.yml: which services run, on which network, under which limits, and in which order they start.</summary>
public sealed class ComposeServicesTests
{
    private static readonly string[] RequiredDefaultServices = ["web", "db", "prometheus", "grafana", "node-exporter", "blackbox-exporter"];

    /// <summary>The design's memory table (upper bounds). A new service needs a line here, and its cost is counted.</summary>
    private static readonly Dictionary<string, string> MemoryTable = new(StringComparer.Ordinal)
    {
        ["web"] = "512M",
        ["db"] = "256M",
        ["prometheus"] = "256M",
        ["grafana"] = "256M",
        ["node-exporter"] = "64M",
        ["blackbox-exporter"] = "32M",
        ["alertmanager"] = "64M",
        ["uptime-kuma"] = "128M",
        ["logs-init"] = "16M",
        ["db-roles"] = "16M",
        ["postgres-exporter"] = "32M",
        ["backup"] = "32M",
    };

    /// <summary>What the default stack may take on an 8 GB laptop.</summary>
    private const long DefaultStackMemoryBudget = 1536L << 20;

    /// <summary>
    /// Services that cannot have a healthcheck. Keep it minimal: logs-init and db-roles are one-shots that exit at once
    /// (their dependents wait with service_completed_successfully); every long-running image has a shell, wget or node.
    /// </summary>
    private static readonly string[] HealthcheckExceptions = ["logs-init", "db-roles"];

    private static ComposeFile Compose => ComposeFile.Current;

    [Test]
    public void The_default_stack_has_web_db_prometheus_grafana_and_both_exporters()
    {
        Assert.That(Compose.DefaultServices, Is.SupersetOf(RequiredDefaultServices),
            $"default services (no profile) are [{string.Join(", ", Compose.DefaultServices)}]");
    }

    [Test]
    public void Uptime_kuma_runs_only_in_the_uptime_profile()
    {
        Assert.That(Compose.Services.Keys, Does.Contain("uptime-kuma"), "service uptime-kuma is missing");
        Assert.That(Compose.Profiles("uptime-kuma"), Is.EqualTo(new[] { "uptime" }), "uptime-kuma must be opt-in: profiles: [\"uptime\"]");
    }

    [Test]
    public void Every_service_is_on_app_network()
    {
        var problems = Compose.Services
            .Where(s => !NetworksOf(s.Value).Contains("app_network"))
            .Select(s => $"service {s.Key} is on [{string.Join(", ", NetworksOf(s.Value))}], not on app_network")
            .ToList();
        Assert.That(Compose.Root.At("networks").AsMap()?.ContainsKey("app_network"), Is.True, "network app_network is not declared under the top-level networks:");
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Every_service_takes_its_cpu_and_memory_limits_from_env()
    {
        var problems = new List<string>();
        foreach (var (name, service) in Compose.Services)
        {
            foreach (var key in new[] { "memory", "cpus" })
            {
                var raw = service.StringAt("deploy", "resources", "limits", key);
                if (raw is null)
                {
                    problems.Add($"service {name} has no deploy.resources.limits.{key}");
                }
                else if (!EnvFile.References(raw).Any())
                {
                    problems.Add($"service {name}: limits.{key} '{raw}' is hard-coded; take it from a variable defined in .env");
                }
                else if (Compose.Env.TryInterpolate(raw, out var problem) is null)
                {
                    problems.Add($"service {name}: limits.{key}: {problem}");
                }
            }
            if (service.StringAt("deploy", "resources", "limits", "cpus") is { } cpus && Compose.Env.TryInterpolate(cpus, out _) is { } resolved
                && !(decimal.TryParse(resolved, NumberStyles.Number, CultureInfo.InvariantCulture, out var cores) && cores is > 0 and <= 2))
            {
                problems.Add($"service {name}: limits.cpus resolves to '{resolved}', expected a number of cores in (0, 2]");
            }
        }
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Every_service_has_a_memory_limit_within_the_table()
    {
        var problems = new List<string>();
        foreach (var name in Compose.Services.Keys)
        {
            if (!MemoryTable.TryGetValue(name, out var ceiling))
            {
                problems.Add($"service {name} is not in the memory table of this test (and of the design): add it with its limit");
                continue;
            }
            var limit = MemoryLimit(name);
            if (limit is not { } bytes || bytes <= 0 || bytes > EnvFile.ParseBytes(ceiling))
            {
                problems.Add($"service {name}: memory limit {Compose.Resolved(name, "deploy", "resources", "limits", "memory") ?? "(none)"} is not within (0, {ceiling}]");
            }
        }
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void The_default_stack_fits_in_one_and_a_half_gibibytes()
    {
        var limits = Compose.DefaultServices.ToDictionary(name => name, MemoryLimit);
        Assert.That(limits.Where(l => l.Value is null).Select(l => l.Key), Is.Empty, "default services without a memory limit");
        var total = limits.Values.Sum(v => v ?? 0);
        Assert.That(total, Is.LessThanOrEqualTo(DefaultStackMemoryBudget),
            $"memory limits of the default services add up to {total >> 20} MiB (> 1536 MiB): "
            + string.Join(" + ", limits.Select(l => $"{l.Key} {l.Value >> 20}M")));
    }

    [Test]
    public void Every_service_has_a_healthcheck_except_the_minimal_exception_list()
    {
        var problems = new List<string>();
        foreach (var (name, service) in Compose.Services)
        {
            var healthcheck = service.At("healthcheck");
            var test = healthcheck.At("test").AsStrings();
            var has = healthcheck is not null && healthcheck.StringAt("disable") is not ("true" or "True")
                && test.Count > 0 && test[0] is not "NONE" && test.Any(part => part.Length > 0);
            if (HealthcheckExceptions.Contains(name))
            {
                if (has)
                {
                    problems.Add($"service {name} has a healthcheck: remove it from {nameof(HealthcheckExceptions)}");
                }
                continue;
            }
            if (!has)
            {
                problems.Add($"service {name} has no healthcheck (healthcheck.test); only [{string.Join(", ", HealthcheckExceptions)}] may go without");
            }
            else if (test[0] is not ("CMD" or "CMD-SHELL") && test.Count > 1)
            {
                problems.Add($"service {name}: healthcheck.test must start with CMD or CMD-SHELL, not '{test[0]}'");
            }
        }
        Assert.That(HealthcheckExceptions, Is.Unique);
        Assert.That(HealthcheckExceptions, Is.SubsetOf(Compose.Services.Keys), "an exception names a service that does not exist");
        Assert.That(problems, Is.Empty);
    }

    [TestCase("web", "db")]
    [TestCase("grafana", "prometheus")]
    public void A_service_waits_until_what_it_needs_is_healthy(string service, string dependency)
    {
        var condition = Compose.Services[service].StringAt("depends_on", dependency, "condition");
        Assert.That(condition, Is.EqualTo("service_healthy"),
            $"service {service} must declare depends_on: {{{dependency}: {{condition: service_healthy}}}}");
    }

    [Test]
    public void Every_dependency_awaited_as_healthy_has_a_healthcheck()
    {
        var problems = new List<string>();
        foreach (var (name, service) in Compose.Services)
        {
            foreach (var (dependency, spec) in service.At("depends_on").AsMap() ?? [])
            {
                if (!Compose.Services.TryGetValue(dependency, out var target))
                {
                    problems.Add($"service {name} depends on {dependency}, which does not exist");
                }
                else if (spec.StringAt("condition") == "service_healthy" && target.At("healthcheck", "test") is null)
                {
                    problems.Add($"service {name} waits for {dependency} to be healthy, but {dependency} has no healthcheck");
                }
                else if (Compose.Profiles(dependency).Except(Compose.Profiles(name)).Any())
                {
                    problems.Add($"service {name} depends on {dependency}, which only runs in profile(s) [{string.Join(", ", Compose.Profiles(dependency))}]");
                }
            }
        }
        Assert.That(problems, Is.Empty);
    }

    private static long? MemoryLimit(string service)
    {
        if (Compose.Services[service].StringAt("deploy", "resources", "limits", "memory") is not { } raw || Compose.Env.TryInterpolate(raw, out _) is not { } resolved)
        {
            return null;
        }
        try
        {
            return EnvFile.ParseBytes(resolved);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static IReadOnlyList<string> NetworksOf(Dictionary<string, object?> service) => service.At("networks") switch
    {
        Dictionary<string, object?> map => map.Keys.ToList(),
        var list => list.AsStrings(),
    };
}

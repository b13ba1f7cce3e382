using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Containers;

/// <summary>The compose stack as its users run it: healthy, storing predictions, logging, scraped, and confined.</summary>
[Order(1)]
public sealed class RunningStackTests
{
    private static ContainerStack Stack => ContainerStackSetUp.Stack;

    [Test]
    public async Task Every_started_service_is_healthy_and_logs_init_completed()
    {
        await Stack.WaitHealthyAsync(ContainerStack.Services, TimeSpan.FromSeconds(30));
        var init = await Stack.InspectAsync("logs-init");
        Assert.That(init.GetProperty("State").GetProperty("Status").GetString(), Is.EqualTo("exited"));
        Assert.That(init.GetProperty("State").GetProperty("ExitCode").GetInt32(), Is.Zero, "logs-init exit code");
    }

    [Test]
    public async Task A_prediction_through_the_published_port_is_stored_in_the_containerised_database()
    {
        using var http = new HttpClient { BaseAddress = Stack.WebUrl, Timeout = TimeSpan.FromSeconds(30) };
        var response = await http.PostAsJsonAsync("/api/predictions", new { billLengthMm = 46.1, billDepthMm = 13.2, flipperLengthMm = 211, bodyMassG = 4500 });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
        var created = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        // Over the published port with the password of the Compose secret, as `psql -h 127.0.0.1` would.
        var connection = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Stack.DatabasePort,
            Database = "vigie",
            Username = "vigie",
            Password = ContainerStack.Secret("db_password"),
        };
        await using var db = new NpgsqlConnection(connection.ConnectionString);
        await db.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT species, channel FROM predictions WHERE id = @id", db);
        query.Parameters.AddWithValue("id", created.GetProperty("id").GetInt64());
        await using var row = await query.ExecuteReaderAsync();
        Assert.That(await row.ReadAsync(), Is.True, "the prediction answered 201 is not in the database");
        Assert.That(row.GetString(0), Is.EqualTo(created.GetProperty("species").GetString()));
        Assert.That(row.GetString(1), Is.EqualTo("api"));
    }

    [Test]
    public async Task The_web_container_writes_logs_web_log_on_the_host_as_its_non_root_user()
    {
        // A rejected prediction answers problem+json with its trace id, which the request's log lines carry.
        using var http = new HttpClient { BaseAddress = Stack.WebUrl };
        using var rejected = await http.PostAsJsonAsync("/api/predictions", new { billLengthMm = -1 });
        Assert.That(rejected.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var traceId = JsonDocument.Parse(await rejected.Content.ReadAsStringAsync()).RootElement.GetProperty("traceId").GetString()!;
        var log = Path.Combine(Infrastructure.RepositoryRoot, "logs", "web.log");
        var logged = false;
        for (var deadline = DateTime.UtcNow.AddSeconds(15); !logged && DateTime.UtcNow < deadline; await Task.Delay(500))
        {
            logged = File.Exists(log) && ReadShared(log).Contains(traceId, StringComparison.Ordinal);
        }
        var owner = await ProcessRunner.RunAsync("stat", ["--format", "%u:%g", log]);
        Assert.Multiple(() =>
        {
            Assert.That(logged, Is.True, $"logs/web.log on the host has no line of the request with trace id {traceId}");
            Assert.That(owner.Output.Trim(), Is.EqualTo("1654:1654"), "owner of logs/web.log (the web container's non-root user, WEB_UID:WEB_GID)");
        });
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [Test]
    public async Task Prometheus_scrapes_every_target_by_service_name_and_finds_it_up()
    {
        using var http = new HttpClient { BaseAddress = Stack.PrometheusUrl };
        var expected = new[] { "vigie-web web:8081", "node-exporter node-exporter:9100", "postgres-exporter postgres-exporter:9187", "alertmanager alertmanager:9093", "prometheus localhost:9090", "blackbox http://web:8080/health/ready", "blackbox http://prometheus:9090/-/healthy" };
        IReadOnlyList<string> up = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline; await Task.Delay(2000))
        {
            var targets = JsonDocument.Parse(await http.GetStringAsync("/api/v1/targets?state=active")).RootElement.GetProperty("data").GetProperty("activeTargets");
            up = targets.EnumerateArray().Where(t => t.GetProperty("health").GetString() == "up")
                .Select(t => t.GetProperty("labels").GetProperty("job").GetString() + " " + t.GetProperty("labels").GetProperty("instance").GetString()).ToList();
            if (expected.All(up.Contains))
            {
                break;
            }
        }
        var alertmanagers = JsonDocument.Parse(await http.GetStringAsync("/api/v1/alertmanagers")).RootElement.GetProperty("data").GetProperty("activeAlertmanagers")
            .EnumerateArray().Select(a => a.GetProperty("url").GetString()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(up, Is.SupersetOf(expected), "targets up");
            Assert.That(alertmanagers, Does.Contain("http://alertmanager:9093/api/v2/alerts"), "Prometheus' Alertmanager");
        });
    }

    [Test]
    public async Task The_backup_service_dumps_the_database_on_demand_and_its_metrics_and_the_database_metrics_reach_prometheus()
    {
        var output = await Stack.ComposeAsync(TimeSpan.FromMinutes(2), "exec", "-T", "backup", "bash", "/usr/local/bin/vigie-db", "backup");
        var listing = await Stack.ComposeAsync(TimeSpan.FromSeconds(30), "exec", "-T", "backup", "bash", "-c", "ls /var/lib/postgresql/data");
        using var http = new HttpClient { BaseAddress = Stack.PrometheusUrl };
        var found = new Dictionary<string, bool>();
        for (var deadline = DateTime.UtcNow.AddSeconds(90); DateTime.UtcNow < deadline; await Task.Delay(2000))
        {
            foreach (var query in new[] { "vigie_backup_last_size_bytes > 0", "pg_up == 1", "pg_table_live_rows{relname=\"predictions\"}" })
            {
                var result = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/api/v1/query?query={Uri.EscapeDataString(query)}", UriKind.Relative)))
                    .RootElement.GetProperty("data").GetProperty("result");
                found[query] = result.GetArrayLength() > 0;
            }
            if (found.Values.All(f => f))
            {
                break;
            }
        }
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("backup vigie-"), "vigie-db backup reports the file it wrote");
            Assert.That(listing.Split('\n').Count(l => l.Trim().EndsWith(".dump", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(2), "the backup taken at start and this one");
            Assert.That(found.Where(f => !f.Value).Select(f => f.Key), Is.Empty, "queries without data in Prometheus");
        });
    }

    [Test]
    public async Task Docker_reports_the_limits_users_read_only_roots_capabilities_and_loopback_ports_of_every_service()
    {
        var env = Compose.ComposeFile.Current.Env;
        var problems = new List<string>();
        foreach (var service in ContainerStack.Services)
        {
            var container = await Stack.InspectAsync(service);
            var host = container.GetProperty("HostConfig");
            var prefix = service.ToUpperInvariant().Replace('-', '_');
            var memory = Compose.EnvFile.ParseBytes(env.Values[prefix + "_MEM_LIMIT"]);
            var cpus = (long)(decimal.Parse(env.Values[prefix + "_CPU_LIMIT"], System.Globalization.CultureInfo.InvariantCulture) * 1_000_000_000);
            if (host.GetProperty("Memory").GetInt64() != memory)
            {
                problems.Add($"{service}: memory limit {host.GetProperty("Memory").GetInt64()} bytes, .env says {memory}");
            }
            if (host.GetProperty("NanoCpus").GetInt64() != cpus)
            {
                problems.Add($"{service}: NanoCpus {host.GetProperty("NanoCpus").GetInt64()}, .env says {cpus}");
            }
            var user = container.GetProperty("Config").GetProperty("User").GetString() ?? string.Empty;
            if (user.Split(':')[0] is "" or "0" or "root")
            {
                problems.Add($"{service}: runs as '{user}' (root)");
            }
            if (!host.GetProperty("ReadonlyRootfs").GetBoolean())
            {
                problems.Add($"{service}: root filesystem is writable");
            }
            if (!Strings(host, "CapDrop").Contains("ALL") || Strings(host, "CapAdd").Count > 0)
            {
                problems.Add($"{service}: capabilities drop [{string.Join(", ", Strings(host, "CapDrop"))}] add [{string.Join(", ", Strings(host, "CapAdd"))}]");
            }
            if (!Strings(host, "SecurityOpt").Any(o => o.StartsWith("no-new-privileges", StringComparison.Ordinal)))
            {
                problems.Add($"{service}: no no-new-privileges");
            }
            if (host.GetProperty("PortBindings").ValueKind == JsonValueKind.Object)
            {
                foreach (var binding in host.GetProperty("PortBindings").EnumerateObject().SelectMany(p => p.Value.EnumerateArray()))
                {
                    if (binding.GetProperty("HostIp").GetString() != "127.0.0.1")
                    {
                        problems.Add($"{service}: publishes on '{binding.GetProperty("HostIp").GetString()}', not 127.0.0.1");
                    }
                }
            }
        }
        Assert.That(problems, Is.Empty);
    }

    private static List<string> Strings(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().Select(v => v.GetString()!).ToList() : [];
}

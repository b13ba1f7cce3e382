using System.Diagnostics;
using System.Text.Json;
using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Containers;

/// <summary>
/// The project's own docker-compose.yml and src/Web/Dockerfile on a real Docker engine (DOCKER_HOST), with the test
/// stand-ins of StandIns/ in place of the upstream images (chosen through the image variables of .env) and
/// docker-compose.test.yml for what this kind of machine cannot do. Every default service runs except grafana, which
/// has no Debian package to build a stand-in from. Ports come from free ones, the project name is the tests' own,
/// and <see cref="DisposeAsync"/> removes containers and volumes.
/// </summary>
internal sealed class ContainerStack : IAsyncDisposable
{
    /// <summary>The services the tests start (logs-init follows web, db-roles postgres-exporter, as their dependency).</summary>
    public static readonly string[] Services = ["web", "db", "prometheus", "node-exporter", "blackbox-exporter", "alertmanager", "postgres-exporter", "backup"];

    private const string ProjectName = "vigie-containertests";
    private static readonly string OverrideFile = Path.Combine("tests", "Vigie.Tests.Stack", "Containers", "docker-compose.test.yml");
    private readonly string[] _compose;
    private readonly Dictionary<string, string> _environment;

    private ContainerStack(string[] compose, Dictionary<string, string> environment)
    {
        _compose = compose;
        _environment = environment;
    }

    public int WebPort => int.Parse(_environment["WEB_PORT"], System.Globalization.CultureInfo.InvariantCulture);

    public int PrometheusPort => int.Parse(_environment["PROMETHEUS_PORT"], System.Globalization.CultureInfo.InvariantCulture);

    public int DatabasePort => int.Parse(_environment["DB_PORT"], System.Globalization.CultureInfo.InvariantCulture);

    public Uri WebUrl => new($"http://127.0.0.1:{WebPort}");

    public Uri PrometheusUrl => new($"http://127.0.0.1:{PrometheusPort}");

    /// <summary>The variables handed to Compose over .env: ports, project name and the stand-ins' image references.</summary>
    public IReadOnlyDictionary<string, string> Environment => _environment;

    /// <summary>When every service became healthy (files written by the stack after this are its own).</summary>
    public DateTimeOffset StartedAt { get; private set; }

    /// <summary>Seconds spent in each step (stand-ins, web image, up to healthy), for the report.</summary>
    public Dictionary<string, double> Timings { get; } = [];

    public static string Secret(string name) => File.ReadAllText(Path.Combine(Infrastructure.RepositoryRoot, "secrets", name)).Trim();

    /// <summary>Builds what is missing, starts the stack and waits until every service is healthy.</summary>
    public static async Task<ContainerStack> StartAsync(Action<string> progress)
    {
        Infrastructure.Require(Executables.Find(["docker"]) is not null, "docker is not installed (Debian package 'docker.io')");
        var info = await ProcessRunner.RunAsync("docker", ["info", "--format", "{{.ServerVersion}}"], timeout: TimeSpan.FromSeconds(30));
        Infrastructure.Require(info.ExitCode == 0, "no Docker engine answers (start dockerd and export DOCKER_HOST): " + info.Error.Trim());
        Infrastructure.Require(Executables.Find(["mmdebstrap"]) is not null, "mmdebstrap is not installed (Debian package 'mmdebstrap'): it makes the stand-ins' base image");
        var compose = await ComposeCommandAsync();
        Infrastructure.Require(compose is not null, "neither `docker compose` (v2) nor `docker-compose` (v1, Debian package 'docker-compose') is installed");

        var environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["COMPOSE_PROJECT_NAME"] = ProjectName };
        foreach (var port in new[] { "WEB_PORT", "PROMETHEUS_PORT", "DB_PORT", "GRAFANA_PORT", "UPTIME_KUMA_PORT" })
        {
            environment[port] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        var stack = new ContainerStack(compose!, environment);
        EnsureSecrets();

        var clock = Stopwatch.StartNew();
        await BuildStandInsAsync(environment);
        stack.Timings["stand-in images"] = clock.Elapsed.TotalSeconds;
        progress($"stand-in images ready in {clock.Elapsed.TotalSeconds:F0} s: " + string.Join(", ", environment.Where(e => e.Key.EndsWith("_IMAGE", StringComparison.Ordinal)).Select(e => e.Value)));

        // A run that was interrupted leaves its containers and volumes behind: start from nothing.
        await stack.ComposeAsync(TimeSpan.FromMinutes(3), "down", "--volumes", "--remove-orphans");
        clock.Restart();
        await stack.ComposeAsync(TimeSpan.FromMinutes(20), "build", "web");
        stack.Timings["web image"] = clock.Elapsed.TotalSeconds;
        progress($"web image built in {clock.Elapsed.TotalSeconds:F0} s");

        clock.Restart();
        await stack.ComposeAsync(TimeSpan.FromMinutes(5), ["up", "-d", .. Services]);
        await stack.WaitHealthyAsync(Services, TimeSpan.FromMinutes(4));
        stack.Timings["up to healthy"] = clock.Elapsed.TotalSeconds;
        stack.StartedAt = DateTimeOffset.UtcNow;
        progress($"every service healthy {clock.Elapsed.TotalSeconds:F0} s after up");
        return stack;
    }

    /// <summary>Builds the stand-in images that are missing (StandIns/build.sh) and sets the image variables of <paramref name="environment"/> to them.</summary>
    internal static async Task BuildStandInsAsync(Dictionary<string, string> environment)
    {
        var standIns = await ProcessRunner.RunAsync("bash", [Path.Combine(Infrastructure.RepositoryRoot, "tests", "Vigie.Tests.Stack", "Containers", "StandIns", "build.sh")],
            timeout: TimeSpan.FromMinutes(20));
        Assert.That(standIns.ExitCode, Is.Zero, "building the stand-in images failed:\n" + standIns.All);
        foreach (var line in standIns.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.Contains('=', StringComparison.Ordinal)))
        {
            environment[line[..line.IndexOf('=', StringComparison.Ordinal)]] = line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..];
        }
    }

    /// <summary>Runs Compose on the repository's file plus the tests' override; fails the test when it fails.</summary>
    public async Task<string> ComposeAsync(TimeSpan timeout, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(_compose[0], [.. _compose[1..], "-f", "docker-compose.yml", "-f", OverrideFile, .. arguments],
            timeout: timeout, environment: _environment);
        Assert.That(result.ExitCode, Is.Zero, $"compose {string.Join(' ', arguments)} failed:\n{result.All}");
        return result.Output;
    }

    public async Task<string> ContainerIdAsync(string service) => (await ComposeAsync(TimeSpan.FromSeconds(30), "ps", "-q", service)).Trim();

    /// <summary><c>docker inspect</c> of a service's container.</summary>
    public async Task<JsonElement> InspectAsync(string service)
    {
        var result = await ProcessRunner.RunAsync("docker", ["inspect", await ContainerIdAsync(service)]);
        Assert.That(result.ExitCode, Is.Zero, result.All);
        return JsonDocument.Parse(result.Output).RootElement[0].Clone();
    }

    /// <summary>Polls the containers' health until each says healthy (what `up --wait` does on Compose v2).</summary>
    public async Task WaitHealthyAsync(IEnumerable<string> services, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var states = new Dictionary<string, string>();
        while (true)
        {
            foreach (var service in services)
            {
                var id = await ContainerIdAsync(service);
                var result = await ProcessRunner.RunAsync("docker", ["inspect", "--format", "{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}", id]);
                states[service] = result.ExitCode == 0 ? result.Output.Trim() : "missing";
            }
            if (states.Values.All(s => s == "running/healthy"))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                var logs = await ProcessRunner.RunAsync(_compose[0], [.. _compose[1..], "-f", "docker-compose.yml", "-f", OverrideFile, "logs", "--tail=30"], environment: _environment);
                Assert.Fail("services not healthy in time: " + string.Join(", ", states.Select(s => $"{s.Key} {s.Value}")) + "\n" + logs.All);
            }
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync(_compose[0], [.. _compose[1..], "-f", "docker-compose.yml", "-f", OverrideFile, "down", "--volumes", "--remove-orphans"],
            timeout: TimeSpan.FromMinutes(3), environment: _environment);
    }

    /// <summary>Compose v2 (<c>docker compose</c>) where the plugin answers, else Debian's Compose v1 (<c>docker-compose</c>).</summary>
    private static async Task<string[]?> ComposeCommandAsync()
    {
        if ((await ProcessRunner.RunAsync("docker", ["compose", "version"])).ExitCode == 0)
        {
            return ["docker", "compose"];
        }
        return Executables.Find(["docker-compose"]) is not null ? ["docker-compose"] : null;
    }

    /// <summary>
    /// The secrets compose mounts (every <c>file: ./secrets/…</c> of docker-compose.yml, so a new secret needs no second
    /// list here), generated as build.cake does when missing (a user's own are kept).
    /// </summary>
    internal static void EnsureSecrets()
    {
        var folder = Path.Combine(Infrastructure.RepositoryRoot, "secrets");
        Directory.CreateDirectory(folder);
        var compose = File.ReadAllText(Path.Combine(Infrastructure.RepositoryRoot, "docker-compose.yml"));
        var names = System.Text.RegularExpressions.Regex.Matches(compose, @"file:\s*\./secrets/([A-Za-z0-9_]+)").Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.That(names, Does.Contain("db_password"), "docker-compose.yml declares its secrets as files under ./secrets/");
        foreach (var name in names)
        {
            var path = Path.Combine(folder, name);
            if (File.Exists(path))
            {
                continue;
            }
            File.WriteAllText(path, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_'));
            if (!OperatingSystem.IsWindows())
            {
                // Readable by the containers' own users (postgres, app); the folder stays private.
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
        }
    }
}

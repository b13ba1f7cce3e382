using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Vigie.Stack;
using Vigie.Testing;
using Vigie.Tests.Stack.Compose;
using Vigie.Tests.Stack.Containers;

namespace Vigie.Tests.Stack.Swarm;

/// <summary>
/// The project's docker-stack.yml deployed with <c>docker stack deploy</c> on the engine DOCKER_HOST points at, made a
/// single-node swarm manager when it is in no swarm (and left again afterwards). Images: the container tests' stand-ins
/// (StandIns/build.sh, HAProxy's included) and the web image built from src/Web/Dockerfile, tagged
/// <see cref="FirstTag"/> and <see cref="SecondTag"/> (the rolling update's new tag). Grafana has no stand-in: its
/// service runs 0 tasks. The stack's own name, free ports and a write limit turned off (one load generator behind
/// the load balancer); <see cref="DisposeAsync"/> removes the stack and its volumes.
/// </summary>
internal sealed class SwarmStack : IAsyncDisposable
{
    public const string Name = "vigie-swarmtests";
    public const string FirstTag = "swarmtest-1";
    public const string SecondTag = "swarmtest-2";
    public const int Replicas = 2;

    private readonly Dictionary<string, string> _environment;
    private readonly bool _leaveSwarm;

    private SwarmStack(Dictionary<string, string> environment, bool leaveSwarm)
    {
        _environment = environment;
        _leaveSwarm = leaveSwarm;
    }

    public int WebPort => int.Parse(_environment["WEB_PORT"], CultureInfo.InvariantCulture);

    /// <summary>The load balancer, the stack's only published port.</summary>
    public Uri Url => new($"http://127.0.0.1:{WebPort}");

    public Dictionary<string, double> Timings { get; } = [];

    public static async Task<SwarmStack> StartAsync(Action<string> progress)
    {
        Infrastructure.Require(Executables.Find(["docker"]) is not null, "docker is not installed (Debian package 'docker.io')");
        var info = await ProcessRunner.RunAsync("docker", ["info", "--format", "{{.Swarm.LocalNodeState}}"], timeout: TimeSpan.FromSeconds(30));
        Infrastructure.Require(info.ExitCode == 0, "no Docker engine answers (start dockerd and export DOCKER_HOST): " + info.Error.Trim());
        Infrastructure.Require(Executables.Find(["mmdebstrap"]) is not null, "mmdebstrap is not installed (Debian package 'mmdebstrap'): it makes the stand-ins' base image");
        var leave = false;
        if (info.Output.Trim() != "active")
        {
            await DockerAsync(TimeSpan.FromMinutes(1), "swarm", "init", "--advertise-addr", "127.0.0.1");
            leave = true;
        }
        var nodeId = (await DockerAsync(TimeSpan.FromSeconds(30), "info", "--format", "{{.Swarm.NodeID}}")).Trim();
        await DockerAsync(TimeSpan.FromSeconds(30), "node", "update", "--label-add", "vigie.db=true", nodeId);

        var environment = new Dictionary<string, string>(EnvFile.Load(Path.Combine(Infrastructure.RepositoryRoot, ".env")).Values, StringComparer.Ordinal)
        {
            ["WEB_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["WEB_REPLICAS"] = Replicas.ToString(CultureInfo.InvariantCulture),
            ["GRAFANA_REPLICAS"] = "0",
            ["WEB_WRITE_RATE_LIMIT"] = "0",
            ["VIGIE_VERSION"] = FirstTag,
            ["VIGIE_CONFIG_DIGEST"] = ConfigDigest(),
        };
        var stack = new SwarmStack(environment, leave);
        ContainerStack.EnsureSecrets();

        var clock = Stopwatch.StartNew();
        await ContainerStack.BuildStandInsAsync(environment);
        stack.Timings["stand-in images"] = clock.Elapsed.TotalSeconds;

        // The same build arguments as the container tests' compose build of this Dockerfile (.env's VIGIE_VERSION
        // included), whose cached layers make this take seconds when they ran first; only the tags are the stack's own.
        clock.Restart();
        await DockerAsync(TimeSpan.FromMinutes(20), "build", "--network=host", "-f", "src/Web/Dockerfile",
            "--build-arg", "DOTNET_SDK_IMAGE=" + environment["DOTNET_SDK_IMAGE"], "--build-arg", "DOTNET_ASPNET_IMAGE=" + environment["DOTNET_ASPNET_IMAGE"],
            "--build-arg", "VIGIE_VERSION=" + EnvFile.Load(Path.Combine(Infrastructure.RepositoryRoot, ".env")).Values["VIGIE_VERSION"], "-t", $"vigie-web:{FirstTag}", ".");
        await DockerAsync(TimeSpan.FromSeconds(30), "tag", $"vigie-web:{FirstTag}", $"vigie-web:{SecondTag}");
        stack.Timings["web image"] = clock.Elapsed.TotalSeconds;
        progress($"images ready ({clock.Elapsed.TotalSeconds:F0} s for the web image)");

        clock.Restart();
        await RemoveAsync();
        var deploy = await ProcessRunner.RunAsync("docker", ["stack", "deploy", "--resolve-image", "never", "--compose-file", "docker-stack.yml", Name],
            timeout: TimeSpan.FromMinutes(3), environment: environment);
        Assert.That(deploy.ExitCode, Is.Zero, "docker stack deploy failed:\n" + deploy.All);
        await stack.WaitReadyAsync(TimeSpan.FromMinutes(5));
        stack.Timings["deploy to ready"] = clock.Elapsed.TotalSeconds;
        progress($"stack ready {clock.Elapsed.TotalSeconds:F0} s after deploy");
        return stack;
    }

    /// <summary>Every task of every service with tasks running (health passing where it has a check), and the load balancer answering ready.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var expected = new Dictionary<string, int> { ["web"] = Replicas, ["alertmanager"] = 2, ["db"] = 1, ["lb"] = 1, ["prometheus"] = 1 };
        string states = "";
        while (DateTime.UtcNow < deadline)
        {
            var healthy = new List<string>();
            foreach (var (service, count) in expected)
            {
                healthy.Add($"{service} {(await HealthyContainersAsync(service)).Count}/{count}");
            }
            states = string.Join(", ", healthy);
            var allHealthy = expected.All(e => healthy.Contains($"{e.Key} {e.Value}/{e.Value}"));
            if (allHealthy && await AnswersAsync(http, "/health/ready"))
            {
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
        var logs = await ProcessRunner.RunAsync("docker", ["service", "ps", "--no-trunc", $"{Name}_web"]);
        Assert.Fail($"the swarm stack is not ready in time: {states}\n{logs.All}");
    }

    private async Task<bool> AnswersAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(Url, path));
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>The ids of a service's running containers whose healthcheck passes.</summary>
    public static async Task<List<string>> HealthyContainersAsync(string service)
    {
        var ids = await DockerAsync(TimeSpan.FromSeconds(30), "ps", "-q", "--filter", $"label=com.docker.swarm.service.name={Name}_{service}", "--filter", "health=healthy");
        return ids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
    }

    /// <summary>Runs a statement in the database container with psql (the stack publishes no database port) and returns its rows, tab-separated.</summary>
    public async Task<string[]> QueryAsync(string sql)
    {
        var db = (await HealthyContainersAsync("db")).Single();
        var output = await DockerAsync(TimeSpan.FromMinutes(1), "exec", "-e", "PGPASSWORD=" + ContainerStack.Secret("db_password"), db,
            "psql", "-h", "127.0.0.1", "-U", _environment["DB_USER"], "-d", _environment["DB_NAME"], "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>A GET from inside a container of <paramref name="service"/> (with its wget), for what the stack does not publish.</summary>
    public static async Task<string> GetInsideAsync(string service, string url)
    {
        var container = (await HealthyContainersAsync(service)).First();
        return await DockerAsync(TimeSpan.FromMinutes(1), "exec", container, "wget", "-qO-", url);
    }

    public static async Task<string> DockerAsync(TimeSpan timeout, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("docker", arguments, timeout: timeout);
        Assert.That(result.ExitCode, Is.Zero, $"docker {string.Join(' ', arguments)} failed:\n{result.All}");
        return result.Output;
    }

    private static async Task RemoveAsync()
    {
        await ProcessRunner.RunAsync("docker", ["stack", "rm", Name], timeout: TimeSpan.FromMinutes(2));
        // stack rm returns before the containers are gone, and a volume in use cannot be removed.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline && (await ProcessRunner.RunAsync("docker", ["ps", "-aq", "--filter", $"label=com.docker.stack.namespace={Name}"])).Output.Trim().Length > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        var volumes = (await ProcessRunner.RunAsync("docker", ["volume", "ls", "-q", "--filter", $"label=com.docker.stack.namespace={Name}"])).Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (volumes.Length > 0)
        {
            await ProcessRunner.RunAsync("docker", ["volume", "rm", .. volumes], timeout: TimeSpan.FromMinutes(1));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await RemoveAsync();
        if (_leaveSwarm)
        {
            await ProcessRunner.RunAsync("docker", ["swarm", "leave", "--force"], timeout: TimeSpan.FromMinutes(1));
        }
    }

    /// <summary>A fresh name for the stack's configs at each run (a Swarm config cannot change; the Cake target uses a digest of the files).</summary>
    private static string ConfigDigest() => Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
}

// Vigie's build script: `dotnet tool restore && dotnet cake [--target=NAME]`.
// Default brings the stack up (Docker Compose, or the native stack where no Docker engine answers); Test runs every test.
using System.Xml.Linq;

var target = Argument("target", "Default");
var configuration = Argument("configuration", "Release");
var root = MakeAbsolute(Directory("."));
var artifacts = root.Combine("artifacts");
var testResults = artifacts.Combine("test-results");
var secrets = root.Combine("secrets");
var env = System.IO.File.ReadAllLines(".env")
    .Select(l => l.Trim())
    .Where(l => l.Length > 0 && !l.StartsWith("#") && l.Contains('='))
    .ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]);

// A setting as Compose sees it: a variable exported in the shell wins over .env.
string Setting(string name) => System.Environment.GetEnvironmentVariable(name) is { Length: > 0 } exported ? exported : env[name];

// True when a Docker engine answers (the client alone is not enough).
bool DockerEngineAnswers()
{
    try
    {
        var settings = new ProcessSettings { Arguments = "info --format {{.ServerVersion}}", RedirectStandardOutput = true, RedirectStandardError = true, Timeout = 15000 };
        return StartProcess("docker", settings) == 0;
    }
    catch
    {
        return false;
    }
}

// Compose v2 (the `docker compose` plugin) where it answers, else Compose v1 (`docker-compose`, Debian's 1.29).
(string Program, string Prefix, bool V2)? composeCommand;

(string Program, string Prefix, bool V2) ComposeCommand()
{
    if (composeCommand is { } known) return known;
    var quiet = new ProcessSettings { Arguments = "compose version", RedirectStandardOutput = true, RedirectStandardError = true, Timeout = 15000 };
    if (StartProcess("docker", quiet) == 0) return (composeCommand = ("docker", "compose ", true)).Value;
    try
    {
        quiet.Arguments = "version";
        if (StartProcess("docker-compose", quiet) == 0) return (composeCommand = ("docker-compose", "", false)).Value;
    }
    catch (Exception)
    {
        // No docker-compose on PATH either.
    }
    throw new Exception("Docker answers but neither Compose v2 (`docker compose`) nor Compose v1 (`docker-compose`) is installed.");
}

void Compose(string arguments)
{
    var (program, prefix, _) = ComposeCommand();
    var exit = StartProcess(program, new ProcessSettings { Arguments = prefix + arguments, WorkingDirectory = root });
    if (exit != 0) throw new Exception($"{program} {prefix}{arguments} failed with exit code {exit}");
}

string ComposeOutput(string arguments)
{
    var (program, prefix, _) = ComposeCommand();
    var exit = StartProcess(program, new ProcessSettings { Arguments = prefix + arguments, WorkingDirectory = root, RedirectStandardOutput = true }, out var output);
    if (exit != 0) throw new Exception($"{program} {prefix}{arguments} failed with exit code {exit}");
    return string.Join("\n", output);
}

// What `up --wait` does on Compose v2, for v1: every started container healthy (or, without a healthcheck, a
// one-shot that exited with 0).
void WaitUntilHealthy(TimeSpan timeout)
{
    var deadline = DateTime.UtcNow + timeout;
    while (true)
    {
        var states = ComposeOutput("ps -q").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(id =>
        {
            StartProcess("docker", new ProcessSettings
            {
                Arguments = "inspect --format \"{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}exit={{.State.ExitCode}}{{end}}\" " + id.Trim(),
                RedirectStandardOutput = true,
            }, out var lines);
            return string.Join(" ", lines).Trim();
        }).ToList();
        var waiting = states.Where(s => !s.EndsWith(" running healthy") && !s.EndsWith(" exited exit=0")).ToList();
        if (states.Count > 0 && waiting.Count == 0) return;
        if (waiting.Any(s => s.Contains(" exited exit=")) || DateTime.UtcNow > deadline)
        {
            throw new Exception("The stack did not become healthy: " + string.Join("; ", waiting) + " (dotnet cake --target=Logs)");
        }
        System.Threading.Thread.Sleep(2000);
    }
}

var stackAssembly = $"src/Stack/bin/{configuration}/net10.0/Vigie.Stack.dll";

// Exit codes of Vigie.Stack that say more than "failed" (src/Stack/Program.cs).
const int StackAlreadyRunning = 3;
const int StackDied = 1;

void Stack(string arguments)
{
    // The built assembly directly, not `dotnet run`, so Ctrl+C reaches the runner itself.
    var exit = StartProcess("dotnet", new ProcessSettings { Arguments = $"{stackAssembly} {arguments}", WorkingDirectory = root });
    if (exit == 0) return;
    throw new Exception(exit switch
    {
        StackAlreadyRunning => "Not started: a native stack already runs (where: above).",
        StackDied when arguments.StartsWith("up") => "The native stack stopped: a process it needs died (which, and its log: above).",
        _ => $"Vigie.Stack {arguments} failed with exit code {exit}",
    });
}

// Every secret compose hands to a container: database and Grafana admin passwords, Alertmanager's token for the alert
// inbox, the admin token of the model lifecycle (train, shadow, promote, rollback), postgres_exporter's password.
var secretNames = new[] { "db_password", "grafana_admin_password", "alertmanager_token", "admin_token", "pg_monitor_password" };

void EnsureSecrets()
{
    foreach (var name in secretNames) EnsureSecret(name);
}

// Random passwords, generated once; compose hands them to the containers as secrets.
void EnsureSecret(string name)
{
    var path = secrets.CombineWithFilePath(name);
    if (FileExists(path)) return;
    EnsureDirectoryExists(secrets);
    var value = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
    System.IO.File.WriteAllText(path.FullPath, value);
    if (!IsRunningOnWindows())
    {
        // The directory stays private; the files must be readable by the containers' own users (postgres, grafana, app).
        System.IO.File.SetUnixFileMode(secrets.FullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        System.IO.File.SetUnixFileMode(path.FullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }
    Information($"Generated {root.GetRelativePath(path)}");
}

Task("Clean")
    .Description("Removes build output, test results and the native stack's state (not secrets/ or logs/).")
    .Does(() =>
{
    CleanDirectories("./src/**/bin");
    CleanDirectories("./src/**/obj");
    CleanDirectories("./tests/**/bin");
    CleanDirectories("./tests/**/obj");
    if (DirectoryExists(artifacts)) DeleteDirectory(artifacts, new DeleteDirectorySettings { Recursive = true, Force = true });
    if (DirectoryExists(root.Combine(".state"))) DeleteDirectory(root.Combine(".state"), new DeleteDirectorySettings { Recursive = true, Force = true });
});

Task("Build")
    .Description("Builds the solution (warnings are errors).")
    .Does(() =>
{
    DotNetBuild("./Vigie.sln", new DotNetBuildSettings { Configuration = configuration });
});

Task("Test")
    .Description("Runs every test project with coverage and prints 'Tests: N passed, N failed, N skipped'.")
    .IsDependentOn("Build")
    .Does(() =>
{
    if (DirectoryExists(testResults)) DeleteDirectory(testResults, new DeleteDirectorySettings { Recursive = true, Force = true });
    var failures = new List<string>();
    foreach (var project in GetFiles("./tests/**/Vigie.Tests.*.csproj").OrderBy(p => p.FullPath))
    {
        var name = project.GetFilenameWithoutExtension().ToString();
        Information($"== {name}");
        try
        {
            DotNetTest(project.FullPath, new DotNetTestSettings
            {
                Configuration = configuration,
                NoBuild = true,
                ResultsDirectory = testResults.Combine(name),
                Loggers = new[] { $"trx;LogFileName={name}.trx", "console;verbosity=normal" },
                Collectors = new[] { "XPlat Code Coverage" },
            });
        }
        catch (Exception ex)
        {
            failures.Add($"{name}: {ex.Message}");
        }
    }

    int passed = 0, failed = 0, skipped = 0;
    foreach (var trx in GetFiles($"{testResults}/**/*.trx"))
    {
        XNamespace ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
        foreach (var result in XDocument.Load(trx.FullPath).Descendants(ns + "UnitTestResult"))
        {
            switch ((string)result.Attribute("outcome"))
            {
                case "Passed": passed++; break;
                case "NotExecuted": case "Inconclusive": skipped++; break;
                default: failed++; break;
            }
        }
    }
    foreach (var project in GetSubDirectories(testResults).OrderBy(d => d.FullPath))
    {
        var coverage = GetFiles($"{project}/**/coverage.cobertura.xml").OrderByDescending(f => System.IO.File.GetLastWriteTimeUtc(f.FullPath)).FirstOrDefault();
        if (coverage is null) continue;
        var lineRate = double.Parse((string)XDocument.Load(coverage.FullPath).Root.Attribute("line-rate"), System.Globalization.CultureInfo.InvariantCulture);
        Information("Coverage of {0}: {1:P1} of lines ({2})", project.GetDirectoryName(), lineRate, root.GetRelativePath(coverage));
    }
    // A test project that crashed before writing results counts as a failure, not as nothing.
    if (failures.Count > 0 && failed == 0) failed = failures.Count;
    // Plain, uncoloured and alone on its line: CI reads this line.
    Console.WriteLine($"Tests: {passed} passed, {failed} failed, {skipped} skipped");
    if (failed > 0 || failures.Count > 0)
    {
        throw new Exception("Tests failed: " + string.Join("; ", failures));
    }
});

void ComposeUp()
{
    // logs/ needs nothing here: the logs-init one-shot of the compose file lets the web container's group write it.
    Compose("build web");
    if (ComposeCommand().V2)
    {
        Compose("up -d --wait");
    }
    else
    {
        Compose("up -d");
        WaitUntilHealthy(TimeSpan.FromMinutes(5));
    }
    // Published on every interface, the URLs to open on this machine are still the loopback ones (the app answers only
    // the host names of ALLOWED_HOSTS, and 0.0.0.0 is none).
    var bind = Setting("BIND_ADDRESS") is "0.0.0.0" or "::" or "[::]" ? "127.0.0.1" : Setting("BIND_ADDRESS");
    Information("");
    Information("Vigie is up:");
    Information($"  Web UI      http://{bind}:{Setting("WEB_PORT")}/");
    Information($"  Prometheus  http://{bind}:{Setting("PROMETHEUS_PORT")}/");
    Information($"  Grafana     http://{bind}:{Setting("GRAFANA_PORT")}/  (user admin, password in secrets/grafana_admin_password)");
    Information($"  psql        {(ComposeCommand().V2 ? "docker compose" : "docker-compose")} exec db psql -U {Setting("DB_USER")} -d {Setting("DB_NAME")}");
    Information("  Logs        logs/web.log   (dotnet cake --target=Logs)");
}

void NativeUp()
{
    // Before building: a build would overwrite the assemblies a running native stack runs from.
    if (FileExists(stackAssembly)) Stack("running");
    // The native app reads the model lifecycle's admin token from secrets/ too.
    EnsureSecret("admin_token");
    DotNetBuild("./src/Web/Vigie.Web.csproj", new DotNetBuildSettings { Configuration = configuration });
    DotNetBuild("./src/Stack/Vigie.Stack.csproj", new DotNetBuildSettings { Configuration = configuration });
    Stack("up --configuration " + configuration);
}

Task("Secrets")
    .Description("Generates the files of secrets/ (passwords, tokens) that are missing.")
    .Does(() =>
{
    EnsureSecrets();
});

Task("Up")
    .Description("Builds the image and starts the compose stack, waiting until every service is healthy.")
    .IsDependentOn("Secrets")
    .Does(() =>
{
    ComposeUp();
});

Task("Native")
    .Description("Runs the same stack from system packages on 127.0.0.1 until Ctrl+C (no Docker engine needed).")
    .Does(() =>
{
    NativeUp();
});

Task("Default")
    .Description("Brings the stack up: Docker Compose when an engine answers, otherwise the native stack.")
    .Does(() =>
{
    if (DockerEngineAnswers())
    {
        EnsureSecrets();
        ComposeUp();
    }
    else
    {
        Information("No Docker engine answers here: running the native stack from system packages instead (dotnet cake --target=Native).");
        NativeUp();
    }
});

Task("Down")
    .Description("Stops the compose stack (volumes kept) or a native stack started elsewhere.")
    .Does(() =>
{
    if (DockerEngineAnswers()) Compose("down");
    DotNetBuild("./src/Stack/Vigie.Stack.csproj", new DotNetBuildSettings { Configuration = configuration });
    Stack("down");
});

Task("Logs")
    .Description("Follows the services' logs (compose) or logs/web.log (native).")
    .Does(() =>
{
    if (DockerEngineAnswers())
    {
        Compose("logs --follow --tail=100");
    }
    else
    {
        StartProcess("tail", new ProcessSettings { Arguments = "-n 100 -F logs/web.log", WorkingDirectory = root });
    }
});

Task("Status")
    .Description("Prints Prometheus' targets and the app's readiness; fails unless all are up.")
    .Does(() =>
{
    DotNetBuild("./src/Stack/Vigie.Stack.csproj", new DotNetBuildSettings { Configuration = configuration });
    Stack("status");
});

Task("Train")
    .Description("Retrains a model candidate from the feedback of the running stack (compose or native) and prints it beside the active model.")
    .Does(() =>
{
    // Calls POST /api/models/train of the running app with secrets/admin_token and follows the run (src/Stack/TrainCommand.cs).
    DotNetBuild("./src/Stack/Vigie.Stack.csproj", new DotNetBuildSettings { Configuration = configuration });
    var url = Argument<string>("url", null);
    Stack("train" + (url is null ? "" : " --url " + url));
});

Task("Bench")
    .Description("Load-tests the native stack (durable PostgreSQL) with wrk from 127.0.0.1 and prints its tables (ceilings, CPU profile, PostgreSQL's view, start-up), also in artifacts/bench.md. --duration=20 (s per run), --load=60 (s of the long prediction run), --phases=endpoints,history,retention (any of them alone), --history-rows=10000000.")
    .Does(() =>
{
    // src/Stack/Bench/Benchmark.cs: what is measured and how; the Lua scripts are in src/Stack/Bench/Scripts.
    // The CPU profile runs the pinned dotnet-trace (.config/dotnet-tools.json).
    if (StartProcess("dotnet", new ProcessSettings { Arguments = "tool restore", WorkingDirectory = root }) != 0) throw new Exception("dotnet tool restore failed");
    DotNetBuild("./src/Web/Vigie.Web.csproj", new DotNetBuildSettings { Configuration = configuration });
    DotNetBuild("./src/Stack/Vigie.Stack.csproj", new DotNetBuildSettings { Configuration = configuration });
    Stack($"bench --configuration {configuration} --duration {Argument("duration", "20")} --load {Argument("load", "60")} --phases {Argument("phases", "endpoints,history,retention")} --history-rows {Argument("history-rows", "10000000")}");
});

// True when the compose stack's backup service is running (then Backup and Restore act on Compose, else on the native stack).
bool ComposeBackupRuns() => DockerEngineAnswers() && ComposeOutput("ps -q backup").Trim().Length > 0;

Task("Backup")
    .Description("Takes a backup now (pg_dump -Fc): into the compose backups volume when the compose stack runs, else into backups/ from the native database.")
    .Does(() =>
{
    if (ComposeBackupRuns())
    {
        Compose("exec -T backup bash /usr/local/bin/vigie-db backup");
        Information(ComposeOutput("exec -T backup bash -c \"ls -l /var/lib/postgresql/data/*.dump\""));
        return;
    }
    DotNetBuild("./src/Stack/Vigie.Stack.csproj", new DotNetBuildSettings { Configuration = configuration });
    Stack("backup");
});

Task("Restore")
    .Description("Replaces the database with a backup: --file=vigie-YYYYMMDDTHHMMSSZ.dump (compose: a file of the backups volume, web stopped meanwhile; native: a file of backups/, stack stopped).")
    .Does(() =>
{
    var file = Argument<string>("file", null) ?? throw new Exception("Which backup? --file=vigie-YYYYMMDDTHHMMSSZ.dump (dotnet cake --target=Backup lists them)");
    if (ComposeBackupRuns())
    {
        // The app would write into a half-restored database: stopped first, started again on the restored one.
        Compose("stop web");
        try
        {
            Compose($"exec -T backup bash /usr/local/bin/vigie-db restore {System.IO.Path.GetFileName(file)}");
        }
        finally
        {
            Compose("start web");
        }
        return;
    }
    DotNetBuild("./src/Stack/Vigie.Stack.csproj", new DotNetBuildSettings { Configuration = configuration });
    Stack($"restore --file \"{file}\"");
});

Task("Soak")
    .Description("A steady mixed load on the native stack for --minutes=5 (at --rate=1000 predictions/s): errors, the app's RSS trend and stored vs acknowledged writes, also in artifacts/soak.md.")
    .Does(() =>
{
    DotNetBuild("./src/Web/Vigie.Web.csproj", new DotNetBuildSettings { Configuration = configuration });
    DotNetBuild("./src/Stack/Vigie.Stack.csproj", new DotNetBuildSettings { Configuration = configuration });
    Stack($"soak --configuration {configuration} --minutes {Argument("minutes", "5")} --rate {Argument("rate", "1000")}");
});

// ---- Swarm (docker-stack.yml; README, "Scaling out") ----------------------------------------------------------------

// The stack's name: the Compose project's, so volumes and networks read alike (vigie_db_data...).
string SwarmStack() => Setting("COMPOSE_PROJECT_NAME");

string DockerOutput(string arguments)
{
    var exit = StartProcess("docker", new ProcessSettings { Arguments = arguments, RedirectStandardOutput = true, RedirectStandardError = true }, out var output);
    if (exit != 0) throw new Exception($"docker {arguments} failed with exit code {exit}");
    return string.Join("\n", output).Trim();
}

// The configuration files the stack hands over as Swarm configs (docker-stack.yml, `configs:`). A config cannot change,
// so each deploy names them after a digest of their content: an edited file becomes a new config and its service restarts.
string SwarmConfigDigest()
{
    var files = new[] { "haproxy/haproxy.cfg", "prometheus/prometheus.swarm.yml", "prometheus/alertmanager.yml", "prometheus/blackbox.yml" }
        .Concat(GetFiles("./prometheus/rules/*.yml").Select(f => root.GetRelativePath(f).FullPath))
        .Concat(GetFiles("./grafana/provisioning/**/*.yml").Select(f => root.GetRelativePath(f).FullPath))
        .Concat(GetFiles("./grafana/provisioning/**/*.json").Select(f => root.GetRelativePath(f).FullPath))
        .OrderBy(f => f, StringComparer.Ordinal);
    using var sha = System.Security.Cryptography.SHA256.Create();
    foreach (var file in files)
    {
        var bytes = System.IO.File.ReadAllBytes(root.CombineWithFilePath(file).FullPath);
        sha.TransformBlock(bytes, 0, bytes.Length, null, 0);
    }
    sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
    return Convert.ToHexString(sha.Hash).ToLowerInvariant()[..12];
}

Task("Swarm")
    .Description("Deploys docker-stack.yml to this engine's swarm (a single-node one is made if there is none): web with --replicas=N (default WEB_REPLICAS) behind HAProxy.")
    .IsDependentOn("Secrets")
    .Does(() =>
{
    if (!DockerEngineAnswers()) throw new Exception("No Docker engine answers: Swarm needs one (README, \"Scaling out\").");
    if (DockerOutput("info --format {{.Swarm.LocalNodeState}}") != "active")
    {
        Information("This engine is in no swarm: making it a single-node swarm manager (docker swarm init --advertise-addr 127.0.0.1).");
        DockerOutput("swarm init --advertise-addr 127.0.0.1");
    }
    // The database's volume lives on one node: the one labelled vigie.db=true, this manager unless one is labelled already.
    if (DockerOutput("node ls -q --filter node.label=vigie.db=true").Length == 0)
    {
        DockerOutput("node update --label-add vigie.db=true " + DockerOutput("info --format {{.Swarm.NodeID}}"));
    }
    // On one node the image built here is what every task runs; on several, push it to a registry they share first.
    Compose("build web");

    var replicas = Argument("replicas", Setting("WEB_REPLICAS"));
    var environment = env.Keys.ToDictionary(k => k, k => Setting(k));
    environment["WEB_REPLICAS"] = replicas;
    environment["VIGIE_CONFIG_DIGEST"] = SwarmConfigDigest();
    var exit = StartProcess("docker", new ProcessSettings
    {
        Arguments = $"stack deploy --resolve-image never --prune --compose-file docker-stack.yml {SwarmStack()}",
        WorkingDirectory = root,
        EnvironmentVariables = environment,
    });
    if (exit != 0) throw new Exception($"docker stack deploy failed with exit code {exit}");

    // Ready when every web task runs and the load balancer answers readiness through one of them.
    var url = $"http://127.0.0.1:{Setting("WEB_PORT")}/";
    var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
    using var http = new System.Net.Http.HttpClient { Timeout = TimeSpan.FromSeconds(5) };
    while (true)
    {
        var running = DockerOutput($"service ls --filter name={SwarmStack()}_web --format {{{{.Replicas}}}}");
        var ready = false;
        try
        {
            ready = http.GetAsync(url + "health/ready").GetAwaiter().GetResult().IsSuccessStatusCode;
        }
        catch (Exception)
        {
            // The load balancer or the replicas are still starting.
        }
        // A redeploy updates the services one task at a time: done once web's update is no longer under way.
        var update = DockerOutput($"service inspect --format \"{{{{if .UpdateStatus}}}}{{{{.UpdateStatus.State}}}}{{{{end}}}}\" {SwarmStack()}_web");
        if (ready && running == $"{replicas}/{replicas}" && update is not ("updating" or "rollback_started")) break;
        if (DateTime.UtcNow > deadline) throw new Exception($"web is not ready after 5 minutes (replicas {running}): docker service ps {SwarmStack()}_web; docker service logs {SwarmStack()}_web");
        System.Threading.Thread.Sleep(2000);
    }
    Information("");
    Information($"Vigie is up on Swarm: {replicas} web replica(s) behind HAProxy.");
    Information($"  Web UI      {url}");
    Information($"  Replicas    docker service ps {SwarmStack()}_web   (scale: dotnet cake --target=Swarm --replicas=N)");
    Information($"  Logs        docker service logs --follow {SwarmStack()}_web");
    Information($"  Remove      dotnet cake --target=SwarmDown   (volumes kept)");
    // Swarm has no host address for a published port (docker stack deploy drops one): say so where it matters.
    Warning($"Swarm publishes port {Setting("WEB_PORT")} on every interface of the node running the load balancer, whatever BIND_ADDRESS ({Setting("BIND_ADDRESS")}) says: keep it behind this host's firewall. Nothing else is published.");
});

Task("SwarmDown")
    .Description("Removes the Swarm stack (its volumes are kept: docker volume ls).")
    .Does(() =>
{
    DockerOutput($"stack rm {SwarmStack()}");
    Information($"Removed the stack {SwarmStack()}; its volumes ({SwarmStack()}_db_data...) are kept.");
});

// The throughput benchmark runs the stack without the write limit: its one load generator is every client at once.
if (target == "SwarmBench") System.Environment.SetEnvironmentVariable("WEB_WRITE_RATE_LIMIT", "0");

Task("SwarmBench")
    .Description("Deploys the Swarm stack (write limit off), then loads it with wrk through the load balancer at each of --counts=1,2,3 web replicas for --duration=30 s: one table, also in artifacts/swarm-bench.md.")
    .IsDependentOn("Swarm")
    .Does(() =>
{
    var duration = int.Parse(Argument("duration", "30"));
    var counts = Argument("counts", "1,2,3").Split(',').Select(int.Parse).ToList();
    var url = $"http://127.0.0.1:{Setting("WEB_PORT")}/api/predictions";
    var scripts = root.Combine("src/Stack/Bench/Scripts");
    var script = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vigie-swarm-bench-{Guid.NewGuid():N}.lua");
    System.IO.File.WriteAllText(script, System.IO.File.ReadAllText(scripts.CombineWithFilePath("post-prediction.lua").FullPath) + "\n"
        + System.IO.File.ReadAllText(scripts.CombineWithFilePath("summary.lua").FullPath));
    System.Text.Json.JsonElement Wrk(int seconds)
    {
        var exit = StartProcess("wrk", new ProcessSettings
        {
            Arguments = $"-t 2 -c 32 -d {seconds}s --timeout 10s -s {script} {url}",
            RedirectStandardOutput = true,
        }, out var output);
        var line = output.FirstOrDefault(l => l.StartsWith("WRK_SUMMARY ")) ?? throw new Exception($"wrk printed no summary (exit {exit})");
        return System.Text.Json.JsonDocument.Parse(line["WRK_SUMMARY ".Length..]).RootElement;
    }
    var rows = new List<string>();
    try
    {
        foreach (var n in counts)
        {
            DockerOutput($"service scale --detach=false {SwarmStack()}_web={n}");
            // New replicas join the load balancer after two good checks; the warm-up also compiles their hot paths.
            System.Threading.Thread.Sleep(5000);
            Wrk(10);
            var s = Wrk(duration);
            long L(string name) => s.GetProperty(name).GetInt64();
            var seconds = L("durationUs") / 1e6;
            var failed = L("connectErrors") + L("readErrors") + L("writeErrors") + L("statusErrors") + L("timeouts");
            rows.Add($"| {n} | {L("requests") / seconds:F0} | {L("p50Us") / 1000.0:F1} | {L("p99Us") / 1000.0:F1} | {failed} |");
            Information(rows[^1]);
        }
    }
    finally
    {
        System.IO.File.Delete(script);
        DockerOutput($"service scale --detach=true {SwarmStack()}_web={Argument("replicas", Setting("WEB_REPLICAS"))}");
    }
    var table = string.Join("\n", new[]
    {
        $"Swarm stack, POST /api/predictions through HAProxy, wrk -t 2 -c 32, {duration} s per row after a 10 s warm-up ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {System.Environment.ProcessorCount} cores)",
        "",
        "| web replicas | predictions/s | p50 ms | p99 ms | failed |",
        "|---:|---:|---:|---:|---:|",
    }.Concat(rows));
    EnsureDirectoryExists(artifacts);
    System.IO.File.WriteAllText(artifacts.CombineWithFilePath("swarm-bench.md").FullPath, table + "\n");
    Information("");
    Information(table);
});

RunTarget(target);

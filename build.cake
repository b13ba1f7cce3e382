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

void Compose(string arguments)
{
    var exit = StartProcess("docker", new ProcessSettings { Arguments = "compose " + arguments, WorkingDirectory = root });
    if (exit != 0) throw new Exception($"docker compose {arguments} failed with exit code {exit}");
}

void Stack(string arguments)
{
    // The built assembly directly, not `dotnet run`, so Ctrl+C reaches the runner itself.
    var exit = StartProcess("dotnet", new ProcessSettings { Arguments = $"src/Stack/bin/{configuration}/net10.0/Vigie.Stack.dll {arguments}", WorkingDirectory = root });
    if (exit != 0) throw new Exception($"Vigie.Stack {arguments} failed with exit code {exit}");
}

// Every secret compose hands to a container: database and Grafana admin passwords, Alertmanager's token for the alert
// inbox, the admin token of the model lifecycle (train, shadow, promote, rollback).
var secretNames = new[] { "db_password", "grafana_admin_password", "alertmanager_token", "admin_token" };

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
    if (!IsRunningOnWindows())
    {
        // The web container (uid 1654) writes web.log into the bind-mounted logs/ folder.
        System.IO.File.SetUnixFileMode(root.Combine("logs").FullPath, (UnixFileMode)Convert.ToInt32("1777", 8));
    }
    Compose("build web");
    Compose("up -d --wait");
    // Published on every interface, the URLs to open on this machine are still the loopback ones (the app answers only
    // the host names of ALLOWED_HOSTS, and 0.0.0.0 is none).
    var bind = env["BIND_ADDRESS"] is "0.0.0.0" or "::" or "[::]" ? "127.0.0.1" : env["BIND_ADDRESS"];
    Information("");
    Information("Vigie is up:");
    Information($"  Web UI      http://{bind}:{env["WEB_PORT"]}/");
    Information($"  Prometheus  http://{bind}:{env["PROMETHEUS_PORT"]}/");
    Information($"  Grafana     http://{bind}:{env["GRAFANA_PORT"]}/  (user admin, password in secrets/grafana_admin_password)");
    Information($"  psql        docker compose exec db psql -U {env["DB_USER"]} -d {env["DB_NAME"]}");
    Information("  Logs        logs/web.log   (dotnet cake --target=Logs)");
}

void NativeUp()
{
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
    .Description("Load-tests the native stack (durable PostgreSQL) with wrk from 127.0.0.1 and prints one table, also in artifacts/bench.md. --duration=20 (s per run), --load=60 (s of the long prediction run).")
    .Does(() =>
{
    // src/Stack/Bench/Benchmark.cs: what is measured and how; the Lua scripts are in src/Stack/Bench/Scripts.
    DotNetBuild("./src/Web/Vigie.Web.csproj", new DotNetBuildSettings { Configuration = configuration });
    DotNetBuild("./src/Stack/Vigie.Stack.csproj", new DotNetBuildSettings { Configuration = configuration });
    Stack($"bench --configuration {configuration} --duration {Argument("duration", "20")} --load {Argument("load", "60")}");
});

Task("Soak")
    .Description("A steady mixed load on the native stack for --minutes=5 (at --rate=1000 predictions/s): errors, the app's RSS trend and stored vs acknowledged writes, also in artifacts/soak.md.")
    .Does(() =>
{
    DotNetBuild("./src/Web/Vigie.Web.csproj", new DotNetBuildSettings { Configuration = configuration });
    DotNetBuild("./src/Stack/Vigie.Stack.csproj", new DotNetBuildSettings { Configuration = configuration });
    Stack($"soak --configuration {configuration} --minutes {Argument("minutes", "5")} --rate {Argument("rate", "1000")}");
});

RunTarget(target);

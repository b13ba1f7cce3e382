using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using Vigie.Stack;

// The native stack runner behind `dotnet cake --target=Native|Status|Down`:
//   up [--configuration Release]   start everything on 127.0.0.1 and run until Ctrl+C (or until the app or its database dies)
//   status                         Prometheus targets, blackbox probe results and app health, as a table
//   down                           stop a native stack started from another terminal
//   running                        say where a native stack runs (exit 3) or nothing (exit 0); Cake asks before building
//   up, status and down take [--state DIR] (default .state/native); up also [--logs DIR] (default logs/) and
//   [--free-ports] (any free port instead of the .env/default ones; the tests run a stack beside yours this way)
//   train [--url URL]              retrain a model candidate from feedback in a running stack (admin token of secrets/admin_token)
//   bench [--duration S] [--load S] [--phases endpoints,history,retention] [--history-rows N]
//                                  load-test the native stack with wrk; table in artifacts/bench.md (src/Stack/Bench)
//   soak [--minutes M] [--rate R]  steady load for M minutes: errors, RSS trend, stored vs acknowledged writes
//   backup                         pg_dump -Fc of the native database into backups/ (the running stack's, or started for it)
//   restore --file F               replaces the native database with backup F (the stack must be stopped)
var command = args.FirstOrDefault() ?? "up";
var root = FindRepositoryRoot();
var state = Path.GetFullPath(ArgumentValue("--state") ?? Path.Combine(root, ".state", "native"));
var freePorts = args.Contains("--free-ports");
// Exit code of `up` when a stack already runs from the state directory (1 is a stack that died).
const int AlreadyRunning = 3;
return command switch
{
    "up" => await UntilStoppedAsync(UpAsync),
    "status" => await StatusAsync(),
    "down" => Down(),
    "running" => Running(),
    "train" => await TrainAsync(),
    "bench" => await BenchAsync(),
    "soak" => await SoakAsync(),
    "backup" => await BackupAsync(),
    "restore" => await RestoreAsync(),
    _ => Usage(),
};

async Task<int> UpAsync(CancellationToken stopping)
{
    // Before choosing ports: a second run must not move them away from a stack that holds them.
    if (Running() == AlreadyRunning)
    {
        return AlreadyRunning;
    }
    var env = DotEnv.Read(Path.Combine(root, ".env"));
    int Port(string key, int fallback) => Available(env.TryGetValue(key, out var v) && int.TryParse(v, CultureInfo.InvariantCulture, out var p) ? p : fallback);
    var options = new NativeStackOptions
    {
        RepositoryRoot = root,
        StateDirectory = state,
        LogDirectory = Path.GetFullPath(ArgumentValue("--logs") ?? Path.Combine(root, "logs")),
        Configuration = ArgumentValue("--configuration") ?? "Release",
        WebPort = Port("WEB_PORT", 8080),
        MetricsPort = Available(8081),
        PrometheusPort = Port("PROMETHEUS_PORT", 9090),
        GrafanaPort = Port("GRAFANA_PORT", 3000),
        NodeExporterPort = Available(9100),
        BlackboxPort = Available(9115),
        AlertmanagerPort = Available(9093),
        DatabasePort = Available(55432),
        BackupDirectory = BackupDirectory(),
        // The model lifecycle's admin actions take the token of secrets/admin_token, as in compose.
        AppSettings = TrainCommand.AdminToken(root) is { } adminToken
            ? new Dictionary<string, string> { ["admin_token"] = adminToken }
            : new Dictionary<string, string>(),
    };
    NativeStack stack;
    try
    {
        stack = await NativeStack.StartAsync(options, line => Console.WriteLine($"  starting {line}"), stopping);
    }
    catch (StackAlreadyRunningException ex)
    {
        // Another run claimed the directory between the check above and this start.
        Console.Error.WriteLine(ex.Message);
        return AlreadyRunning;
    }
    await using (stack)
    {
        var (schedule, keep) = BackupSchedule(env);
        var backups = ScheduledBackupsAsync(stack.Database, schedule, keep, stopping);
        var targets = await stack.WaitForTargetsUpAsync(TimeSpan.FromSeconds(60), stopping);
        Console.WriteLine();
        Console.WriteLine("Vigie is running natively (no Docker engine):");
        Console.WriteLine($"  Web UI      {stack.WebUrl}");
        Console.WriteLine($"  API         {stack.WebUrl}api/predictions   OpenAPI {stack.WebUrl}openapi/v1.json");
        Console.WriteLine($"  Metrics     {stack.MetricsUrl} (sidecar)");
        Console.WriteLine($"  Prometheus  {stack.PrometheusUrl}classic/targets");
        // Debian's Alertmanager is built without its web UI (its root URL is a stub page): amtool is the console.
        Console.WriteLine($"  Alertmanager {stack.AlertmanagerUrl} (API only here; alerts reach {stack.WebUrl}Alerts)");
        Console.WriteLine($"              amtool --alertmanager.url={stack.AlertmanagerUrl} alert query");
        Console.WriteLine($"              amtool --alertmanager.url={stack.AlertmanagerUrl} silence add alertname=VigieDatabaseDown --duration=1h --comment=\"planned work\"");
        Console.WriteLine($"  Runbook     {stack.WebUrl}Runbook (what each alert means and what to do)");
        Console.WriteLine(stack.HasGrafana ? $"  Grafana     {stack.GrafanaUrl}" : "  Grafana     not installed here (dashboards need Docker or a Grafana package)");
        Console.WriteLine($"  PostgreSQL  PGPASSWORD=$(cat {Shown(Path.Combine(stack.Database.BaseDirectory, "superuser_password"))}) psql -h 127.0.0.1 -p {stack.Database.Port} -U postgres -d vigie");
        Console.WriteLine($"  Logs        {Path.Combine(options.LogDirectory, "web.log")}");
        ScrapeTarget.Print(targets, Console.Out);
        Console.WriteLine("Press Ctrl+C to stop everything.");
        try
        {
            var gone = await StackSupervisor.WatchAsync(stack, Console.Out, TimeSpan.FromSeconds(1), stopping);
            Console.WriteLine($"The native stack is gone ({gone}): stopping what remains of it.");
            return 1;
        }
        catch (OperationCanceledException)
        {
        }
        Console.WriteLine("Stopping the native stack…");
        await backups;
    }
    return 0;
}

// As the Compose backup service does: one backup at start, then one per interval, until the stack stops. A failed
// backup is reported and tried again at the next interval; the metrics file keeps the last success, so the
// VigieBackupTooOld alert fires if failures go on.
async Task ScheduledBackupsAsync(PostgresCluster cluster, TimeSpan schedule, int keep, CancellationToken stopping)
{
    try
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var backup = await Backups.TakeAsync(cluster, BackupDirectory(), keep, schedule, stopping);
                Console.WriteLine($"  backup {Path.GetRelativePath(root, backup.Path)} ({backup.Bytes:N0} bytes, {backup.Took.TotalSeconds:F1} s)");
            }
            catch (InvalidOperationException ex)
            {
                Console.Error.WriteLine($"  backup FAILED: {ex.Message}");
            }
            await Task.Delay(schedule, stopping);
        }
    }
    catch (OperationCanceledException)
    {
    }
}

string BackupDirectory() => Path.Combine(root, "backups");

static (TimeSpan Schedule, int Keep) BackupSchedule(IReadOnlyDictionary<string, string> env) =>
    (TimeSpan.FromSeconds(int.Parse(env.GetValueOrDefault("BACKUP_INTERVAL_SECONDS", "86400"), CultureInfo.InvariantCulture)),
     int.Parse(env.GetValueOrDefault("BACKUP_KEEP", "7"), CultureInfo.InvariantCulture));

// The running native stack's database when there is one, otherwise the stopped one started for the command (and
// stopped after it).
async Task<PostgresCluster?> NativeDatabaseAsync(bool mustBeStopped)
{
    var directory = Path.Combine(state, "postgres");
    if (StackClaim.RunningIn(state) is not null)
    {
        if (mustBeStopped)
        {
            Console.Error.WriteLine("The native stack is running: stop it first (dotnet cake --target=Down), then restore, then start it again.");
            return null;
        }
        if (StackClaim.Endpoints(state)?.GetValueOrDefault("postgres") is not { } port)
        {
            Console.Error.WriteLine("The native stack is still starting: try again once it prints its URLs.");
            return null;
        }
        return PostgresCluster.Attach(directory, int.Parse(port, CultureInfo.InvariantCulture));
    }
    if (!mustBeStopped && !File.Exists(Path.Combine(directory, "data", "PG_VERSION")))
    {
        Console.Error.WriteLine("No native database to back up yet: start the stack once (dotnet cake --target=Native).");
        return null;
    }
    return await PostgresCluster.CreateAsync(directory, FreePort.Next(), durable: true);
}

async Task<int> BackupAsync()
{
    using var cluster = await NativeDatabaseAsync(mustBeStopped: false);
    if (cluster is null)
    {
        return 1;
    }
    var (schedule, keep) = BackupSchedule(DotEnv.Read(Path.Combine(root, ".env")));
    var backup = await Backups.TakeAsync(cluster, BackupDirectory(), keep, schedule);
    Console.WriteLine($"Backed up to {Path.GetRelativePath(root, backup.Path)}: {backup.Bytes:N0} bytes in {backup.Took.TotalSeconds:F1} s (the newest {keep} kept).");
    return 0;
}

async Task<int> RestoreAsync()
{
    if (ArgumentValue("--file") is not { Length: > 0 } file)
    {
        Console.Error.WriteLine($"Which backup? --file=PATH, e.g. one of: {string.Join(", ", Backups.List(BackupDirectory()).Take(3).Select(f => Path.GetRelativePath(root, f)))}");
        return 2;
    }
    var path = File.Exists(file) ? Path.GetFullPath(file) : Path.Combine(BackupDirectory(), Path.GetFileName(file));
    using var cluster = await NativeDatabaseAsync(mustBeStopped: true);
    if (cluster is null)
    {
        return 1;
    }
    var took = await Backups.RestoreAsync(cluster, path);
    var rows = await cluster.ScalarAsync("SELECT count(*) FROM predictions");
    Console.WriteLine($"Restored {Path.GetFileName(path)} in {took.TotalSeconds:F1} s ({rows:N0} predictions). Start the stack again: dotnet cake --target=Native");
    return 0;
}

async Task<int> StatusAsync()
{
    var env = DotEnv.Read(Path.Combine(root, ".env"));
    var endpoints = StackClaim.Endpoints(state)
        ?? new Dictionary<string, string>
        {
            ["web"] = $"http://127.0.0.1:{env.GetValueOrDefault("WEB_PORT", "8080")}/",
            ["prometheus"] = $"http://127.0.0.1:{env.GetValueOrDefault("PROMETHEUS_PORT", "9090")}/",
        };
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
    var healthy = true;
    try
    {
        using var ready = await http.GetAsync(new Uri(new Uri(endpoints["web"]), "/health/ready"));
        Console.WriteLine($"App {endpoints["web"]}health/ready: {(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}");
        healthy &= ready.IsSuccessStatusCode;
        var targets = await ScrapeTarget.ReadAsync(http, new Uri(endpoints["prometheus"]));
        ScrapeTarget.Print(targets, Console.Out);
        healthy &= targets.Count > 0 && targets.All(t => t.IsHealthy);
    }
    catch (HttpRequestException ex)
    {
        Console.WriteLine($"Not reachable: {ex.Message}");
        healthy = false;
    }
    Console.WriteLine(healthy ? "Status: every target up, every probe succeeding, app ready." : "Status: NOT healthy.");
    return healthy ? 0 : 1;
}

int Running()
{
    if (StackClaim.RunningIn(state) is not { } running)
    {
        return 0;
    }
    Console.Error.WriteLine(running);
    return AlreadyRunning;
}

int Down()
{
    foreach (var line in new PidFile(Path.Combine(state, "pids")).StopRecorded())
    {
        Console.WriteLine(line);
    }
    PostgresCluster.StopExisting(Path.Combine(state, "postgres"));
    Console.WriteLine("Native stack stopped.");
    return 0;
}

// A path as the user types it: relative inside the repository, absolute elsewhere (a --state outside it).
string Shown(string path) => Path.GetRelativePath(root, path) is var relative && !relative.StartsWith("..", StringComparison.Ordinal) ? relative : path;

string? ArgumentValue(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

int Available(int preferred)
{
    if (freePorts)
    {
        return FreePort.Next();
    }
    try
    {
        using var listener = new TcpListener(IPAddress.Loopback, preferred);
        listener.Start();
        return preferred;
    }
    catch (SocketException)
    {
        var port = FreePort.Next();
        Console.WriteLine($"  port {preferred} is busy, using {port}");
        return port;
    }
}

static string FindRepositoryRoot()
{
    for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Vigie.sln")))
        {
            return dir.FullName;
        }
    }
    throw new InvalidOperationException("Run from inside the Vigie repository.");
}

static int Unknown(string phase)
{
    Console.Error.WriteLine($"Unknown benchmark phase '{phase}': the phases are {string.Join(", ", Vigie.Stack.Bench.BenchmarkOptions.AllPhases)}.");
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("usage: Vigie.Stack up [--configuration Release] [--state DIR] [--logs DIR] [--free-ports] | status [--state DIR] | down [--state DIR] | running [--state DIR] | train [--url URL] | bench [--duration S] [--load S] [--phases P,…] [--history-rows N] | soak [--minutes M] [--rate R] | backup | restore --file F");
    return 2;
}

async Task<int> TrainAsync()
{
    if (TrainCommand.AdminToken(root) is not { } token)
    {
        Console.Error.WriteLine("secrets/admin_token not found: generate it with `dotnet cake --target=Secrets` and restart the stack so the app reads it.");
        return 1;
    }
    try
    {
        return await TrainCommand.RunAsync(TrainCommand.WebUrl(root, ArgumentValue("--url")), token, Console.Out);
    }
    catch (HttpRequestException ex)
    {
        Console.Error.WriteLine($"The app does not answer ({ex.Message}); start the stack first (dotnet cake).");
        return 1;
    }
}

Task<int> BenchAsync() => ArgumentValue("--phases") is { } asked && asked.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .FirstOrDefault(p => !Vigie.Stack.Bench.BenchmarkOptions.AllPhases.Contains(p)) is { } unknown
    ? Task.FromResult(Unknown(unknown))
    : UntilStoppedAsync(stopping => Vigie.Stack.Bench.Benchmark.RunAsync(new Vigie.Stack.Bench.BenchmarkOptions
{
    RepositoryRoot = root,
    Configuration = ArgumentValue("--configuration") ?? "Release",
    DurationSeconds = int.Parse(ArgumentValue("--duration") ?? "20", CultureInfo.InvariantCulture),
    LoadSeconds = int.Parse(ArgumentValue("--load") ?? "60", CultureInfo.InvariantCulture),
    Phases = ArgumentValue("--phases") is { } phases
        ? new SortedSet<string>(phases.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal)
        : Vigie.Stack.Bench.BenchmarkOptions.AllPhases,
    HistoryRows = long.Parse(ArgumentValue("--history-rows") ?? "10000000", CultureInfo.InvariantCulture),
}, Console.Out, stopping));

Task<int> SoakAsync() => UntilStoppedAsync(stopping => Vigie.Stack.Bench.Soak.RunAsync(new Vigie.Stack.Bench.SoakOptions
{
    RepositoryRoot = root,
    Configuration = ArgumentValue("--configuration") ?? "Release",
    Minutes = double.Parse(ArgumentValue("--minutes") ?? "5", CultureInfo.InvariantCulture),
    Rate = int.Parse(ArgumentValue("--rate") ?? "1000", CultureInfo.InvariantCulture),
}, Console.Out, stopping));

// The one way a long-running command stops: Ctrl+C (SIGINT), SIGTERM or a closed terminal (SIGHUP) cancels the run,
// which then stops its stack and cleans up, instead of killing the process mid-way. Ctrl+C reaches every process of the
// terminal's group; this one must outlive the others long enough to stop them all.
static async Task<int> UntilStoppedAsync(Func<CancellationToken, Task<int>> run)
{
    using var stopping = new CancellationTokenSource();
    void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        stopping.Cancel();
    }
    using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
    using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop);
    return await run(stopping.Token);
}

using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Vigie.Stack;

/// <summary>
/// A throwaway PostgreSQL cluster from the system's binaries (<c>initdb</c>/<c>pg_ctl</c>), listening on 127.0.0.1 and
/// a free port, owned by the <c>postgres</c> user when run as root (PostgreSQL refuses to run as root). Used by the
/// native stack and the tests; it can be stopped and started again to simulate an outage. Like a real deployment, it
/// requires a password (scram-sha-256) of every role on every connection, the socket included.
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    /// <summary>The application role and database created in the cluster.</summary>
    public const string AppUser = "vigie";
    public const string AppDatabase = "vigie";

    /// <summary>
    /// The login of postgres_exporter: a member of <c>pg_monitor</c> (every statistics view and size function, no table
    /// data), with a password of its own, so the metrics scraper cannot read or change a prediction.
    /// </summary>
    public const string MonitorUser = "vigie_monitor";

    private readonly string _binDirectory;
    private readonly string _dataDirectory;
    private readonly bool _durable;
    private readonly bool _ownsDirectory;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private bool _attached;

    private PostgresCluster(string baseDirectory, string binDirectory, int port, bool durable, bool ownsDirectory, IReadOnlyDictionary<string, string>? settings = null)
    {
        _settings = settings ?? new Dictionary<string, string>();
        BaseDirectory = baseDirectory;
        _binDirectory = binDirectory;
        _dataDirectory = Path.Combine(baseDirectory, "data");
        Port = port;
        _durable = durable;
        _ownsDirectory = ownsDirectory;
    }

    public string BaseDirectory { get; }

    public int Port { get; }

    /// <summary>Password of the <see cref="AppUser"/> role (new at every start of this object).</summary>
    public string AppPassword { get; } = NewPassword();

    /// <summary>
    /// Password of the <c>postgres</c> superuser, set by <c>initdb</c> and kept in the cluster's folder (owner-only) so a
    /// durable cluster can be reopened later.
    /// </summary>
    public string SuperuserPassword { get; private set; } = string.Empty;

    /// <summary>Connection string of the app's database, password included.</summary>
    public string AppConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Database = AppDatabase,
        Username = AppUser,
        Password = AppPassword,
    }.ConnectionString;

    /// <summary>Connection string of the superuser, for test setup and inspection.</summary>
    public string AdminConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Database = AppDatabase,
        Username = "postgres",
        Password = SuperuserPassword,
    }.ConnectionString;

    /// <summary>True when <c>initdb</c> and <c>pg_ctl</c> can be found.</summary>
    public static bool IsInstalled => FindBinDirectory() is not null;

    /// <summary>
    /// Creates and starts a cluster in <paramref name="baseDirectory"/> (a new temporary one when null), with the app's
    /// role and database. <paramref name="durable"/> false turns fsync off, which is fine for tests and nothing else.
    /// <paramref name="settings"/> are more server settings (<c>-c name=value</c> at every start), e.g. the benchmark's
    /// <c>shared_preload_libraries=pg_stat_statements</c>.
    /// </summary>
    public static async Task<PostgresCluster> CreateAsync(string? baseDirectory = null, int? port = null, bool durable = false, IReadOnlyDictionary<string, string>? settings = null)
    {
        var bin = FindBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found: install the 'postgresql' package.");
        var owns = baseDirectory is null;
        baseDirectory ??= Directory.CreateTempSubdirectory("vigie-pg-").FullName;
        Directory.CreateDirectory(baseDirectory);
        var cluster = new PostgresCluster(Path.GetFullPath(baseDirectory), bin, port ?? FreePort.Next(), durable, owns, settings);
        try
        {
            cluster.Initialize();
            cluster.Start();
            await cluster.CreateAppDatabaseAsync();
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
        return cluster;
    }

    /// <summary>
    /// The cluster of <paramref name="baseDirectory"/> already running on <paramref name="port"/> (a native stack started
    /// from another terminal), reached as its superuser; disposing it leaves the server running.
    /// </summary>
    public static PostgresCluster Attach(string baseDirectory, int port)
    {
        var bin = FindBinDirectory() ?? throw new InvalidOperationException("PostgreSQL client binaries were not found: install the 'postgresql' package.");
        var cluster = new PostgresCluster(Path.GetFullPath(baseDirectory), bin, port, durable: true, ownsDirectory: false) { _attached = true };
        cluster.SuperuserPassword = File.ReadAllText(Path.Combine(baseDirectory, "superuser_password")).Trim();
        return cluster;
    }

    /// <summary>
    /// Runs one of the server's client programs (<c>pg_dump</c>, <c>pg_restore</c>) of the same version as the server,
    /// connected as the superuser to the app's database (password through the environment, never the command line), and
    /// returns what it printed (pgbench's summary).
    /// </summary>
    public async Task<string> RunClientAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var info = new ProcessStartInfo(Path.Combine(_binDirectory, program)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["--host=127.0.0.1", $"--port={Port.ToString(CultureInfo.InvariantCulture)}", "--username=postgres", .. arguments])
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["PGPASSWORD"] = SuperuserPassword;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}{await output}");
        }
        return await output;
    }

    /// <summary>
    /// Hands <paramref name="connectionString"/> to an app the way Compose does: its password, if any, becomes the file
    /// <c>db_password</c> of <paramref name="secretsDirectory"/> (the app's <c>/run/secrets</c>, read by the KeyPerFile
    /// provider), and the connection string is returned without it.
    /// </summary>
    public static string HandOverPassword(string connectionString, string secretsDirectory)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Directory.CreateDirectory(secretsDirectory);
        if (!string.IsNullOrEmpty(builder.Password))
        {
            var file = Path.Combine(secretsDirectory, "db_password");
            File.WriteAllText(file, builder.Password + "\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            builder.Password = null;
        }
        return builder.ConnectionString;
    }

    private void Initialize()
    {
        var passwordFile = Path.Combine(BaseDirectory, "superuser_password");
        if (File.Exists(passwordFile))
        {
            SuperuserPassword = File.ReadAllText(passwordFile).Trim();
        }
        else
        {
            SuperuserPassword = NewPassword();
            File.WriteAllText(passwordFile, SuperuserPassword + "\n");
        }
        if (IsRoot)
        {
            Run("chown", ["-R", "postgres:postgres", BaseDirectory]);
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        if (!File.Exists(Path.Combine(_dataDirectory, "PG_VERSION")))
        {
            // scram-sha-256 for local and host connections alike, as a real deployment (and the postgres image) does.
            RunAsOwner(Path.Combine(_binDirectory, "initdb"),
                ["-D", _dataDirectory, "-A", "scram-sha-256", "-U", "postgres", "--pwfile", passwordFile, "-E", "UTF8", "--no-sync"]);
        }
    }

    private static string NewPassword() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

    /// <summary>Starts the server and waits until it accepts connections.</summary>
    public void Start()
    {
        var options = string.Create(CultureInfo.InvariantCulture,
            $"-p {Port} -k {BaseDirectory} -c listen_addresses=127.0.0.1 -c max_connections=200");
        if (!_durable)
        {
            options += " -c fsync=off -c full_page_writes=off";
        }
        foreach (var (name, value) in _settings)
        {
            options += $" -c {name}={value}";
        }
        RunAsOwner(Path.Combine(_binDirectory, "pg_ctl"), ["-D", _dataDirectory, "-l", LogPath, "-o", options, "-w", "-t", "60", "start"]);
        _started = true;
    }

    /// <summary>
    /// True once this object has started the server: one that failed to start (another server runs on the same data)
    /// must not stop that other server when disposed.
    /// </summary>
    private bool _started;

    /// <summary>Stops the server (fast shutdown: open connections are closed, committed data is kept).</summary>
    public void Stop()
    {
        if (File.Exists(Path.Combine(_dataDirectory, "postmaster.pid")))
        {
            RunAsOwner(Path.Combine(_binDirectory, "pg_ctl"), ["-D", _dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"]);
        }
    }

    /// <summary>Stops a cluster left running in <paramref name="baseDirectory"/> by a process that did not stop it.</summary>
    public static void StopExisting(string baseDirectory)
    {
        var data = Path.Combine(baseDirectory, "data");
        if (FindBinDirectory() is { } bin && File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            RunAsOwner(Path.Combine(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
        }
    }

    /// <summary>PID of the server running on this cluster's data, or null when none runs.</summary>
    public int? ServerPid() => ServerPid(BaseDirectory);

    /// <summary>The server's log file.</summary>
    public string LogPath => Path.Combine(BaseDirectory, "postgres.log");

    /// <summary>
    /// PID of the server running on the cluster in <paramref name="baseDirectory"/> (its <c>postmaster.pid</c> names a
    /// live process), or null when none runs.
    /// </summary>
    public static int? ServerPid(string baseDirectory)
    {
        try
        {
            var first = File.ReadLines(Path.Combine(baseDirectory, "data", "postmaster.pid")).FirstOrDefault();
            return int.TryParse(first, CultureInfo.InvariantCulture, out var pid) && PidFile.Identity(pid) is not null ? pid : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Number of rows a query returns as its single scalar, read as the superuser.</summary>
    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>Creates (or sets the password of) <see cref="MonitorUser"/>, a member of pg_monitor only.</summary>
    public async Task EnsureMonitorRoleAsync(string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        // format('%L') quotes the password as a literal: ALTER/CREATE ROLE takes no parameters.
        await using var command = new NpgsqlCommand($"""
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MonitorUser}') THEN
                    CREATE ROLE {MonitorUser} LOGIN;
                END IF;
                EXECUTE format('ALTER ROLE {MonitorUser} PASSWORD %L', current_setting('vigie.monitor_password'));
            END
            $$;
            GRANT pg_monitor TO {MonitorUser};
            """, connection);
        await using (var set = new NpgsqlCommand("SELECT set_config('vigie.monitor_password', @password, false)", connection))
        {
            set.Parameters.AddWithValue("password", password);
            await set.ExecuteNonQueryAsync();
        }
        await command.ExecuteNonQueryAsync();
    }

    private async Task CreateAppDatabaseAsync()
    {
        var admin = new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = "postgres" }.ConnectionString;
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_roles WHERE rolname = @name", connection))
        {
            exists.Parameters.AddWithValue("name", AppUser);
            var sql = await exists.ExecuteScalarAsync() is null ? "CREATE ROLE {0} LOGIN PASSWORD '{1}'" : "ALTER ROLE {0} PASSWORD '{1}'";
            // Identifiers and the hex password are ours, not user input.
            await using var role = new NpgsqlCommand(string.Format(CultureInfo.InvariantCulture, sql, AppUser, AppPassword), connection);
            await role.ExecuteNonQueryAsync();
        }
        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection))
        {
            exists.Parameters.AddWithValue("name", AppDatabase);
            if (await exists.ExecuteScalarAsync() is null)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE {AppDatabase} OWNER {AppUser}", connection);
                await create.ExecuteNonQueryAsync();
            }
        }
    }

    public void Dispose()
    {
        if (_attached)
        {
            return;
        }
        try
        {
            if (_started)
            {
                Stop();
            }
        }
        catch (InvalidOperationException)
        {
            // Already stopped or never started; removing the directory is what matters now.
        }
        if (_ownsDirectory)
        {
            try
            {
                Directory.Delete(BaseDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static bool IsRoot => Environment.UserName == "root";

    private static void RunAsOwner(string fileName, IReadOnlyList<string> arguments)
    {
        if (IsRoot)
        {
            Run("runuser", ["-u", "postgres", "--", fileName, .. arguments]);
        }
        else
        {
            Run(fileName, arguments);
        }
    }

    private static void Run(string fileName, IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} did not finish in 90 s.");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error.Result}{output.Result}");
        }
    }

    private static string? FindBinDirectory()
    {
        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.GetDirectories(debianRoot)
                .Where(d => File.Exists(Path.Combine(d, "bin", "initdb")) && File.Exists(Path.Combine(d, "bin", "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                .FirstOrDefault();
            if (newest is not null)
            {
                return Path.Combine(newest, "bin");
            }
        }
        return (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")));
    }
}

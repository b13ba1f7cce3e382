using System.Text.Json;

namespace Vigie.Stack;

/// <summary>
/// A state directory belongs to one native stack at a time. Its runner holds an exclusive lock on the directory's
/// <c>lock</c> file while the stack runs (the kernel drops it when the process ends, however it ends) and publishes the
/// stack's addresses in <c>endpoints.json</c>. A second run on the same directory is refused before it starts anything,
/// so it can neither move ports nor, when it gives up, stop the first stack's PostgreSQL or delete its PID file.
/// </summary>
public sealed class StackClaim : IDisposable
{
    private readonly FileStream _lock;
    private readonly string _endpoints;

    private StackClaim(FileStream lockFile, string stateDirectory)
    {
        _lock = lockFile;
        _endpoints = EndpointsPath(stateDirectory);
    }

    /// <summary>
    /// Claims <paramref name="stateDirectory"/>, or throws <see cref="StackAlreadyRunningException"/> when another runner
    /// holds it, or when processes of an earlier run (recorded in its PID file, or its PostgreSQL) still run there.
    /// </summary>
    public static StackClaim Take(string stateDirectory)
    {
        Directory.CreateDirectory(stateDirectory);
        FileStream lockFile;
        try
        {
            // FileShare.None takes an exclusive flock(2) on Unix: a second holder fails at once, in this process or another.
            lockFile = new FileStream(Path.Combine(stateDirectory, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            var web = Endpoints(stateDirectory)?.GetValueOrDefault("web");
            throw new StackAlreadyRunningException(web is null
                ? $"A native stack is already starting from {stateDirectory}; wait for its URLs in its terminal, or stop it with `dotnet cake --target=Down`."
                : $"Vigie is already running at {web} (a native stack started from {stateDirectory}); open it, or stop it with `dotnet cake --target=Down`.");
        }
        var leftovers = new PidFile(Path.Combine(stateDirectory, "pids")).Alive().Select(p => $"{p.Name} (PID {p.Pid})").ToList();
        if (PostgresCluster.ServerPid(Path.Combine(stateDirectory, "postgres")) is { } postgres)
        {
            leftovers.Add($"PostgreSQL (PID {postgres})");
        }
        if (leftovers.Count > 0)
        {
            lockFile.Dispose();
            throw new StackAlreadyRunningException(
                $"Processes of an earlier native stack still run from {stateDirectory}: {string.Join(", ", leftovers)}; stop them with `dotnet cake --target=Down`.");
        }
        return new StackClaim(lockFile, stateDirectory);
    }

    /// <summary>What runs from <paramref name="stateDirectory"/> (the message of <see cref="Take"/>'s refusal), or null when it is free.</summary>
    public static string? RunningIn(string stateDirectory)
    {
        try
        {
            Take(stateDirectory).Dispose();
            return null;
        }
        catch (StackAlreadyRunningException running)
        {
            return running.Message;
        }
    }

    /// <summary>Publishes the stack's addresses (name → URL) for <c>status</c>, <c>train</c> and a refused second run.</summary>
    public void Publish(IReadOnlyDictionary<string, string> endpoints) => File.WriteAllText(_endpoints, JsonSerializer.Serialize(endpoints));

    /// <summary>The addresses published by the stack running from <paramref name="stateDirectory"/>, or null.</summary>
    public static Dictionary<string, string>? Endpoints(string stateDirectory)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(EndpointsPath(stateDirectory)));
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            return null;
        }
    }

    private static string EndpointsPath(string stateDirectory) => Path.Combine(stateDirectory, "endpoints.json");

    /// <summary>Withdraws the addresses and releases the directory.</summary>
    public void Dispose()
    {
        File.Delete(_endpoints);
        _lock.Dispose();
    }
}

/// <summary>A native stack already runs from the state directory a run was asked to use; the message says where and what to do.</summary>
public sealed class StackAlreadyRunningException(string message) : InvalidOperationException(message);

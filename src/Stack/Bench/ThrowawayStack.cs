namespace Vigie.Stack.Bench;

/// <summary>What a benchmark or a soak run is given alike: the repository, the build to run, where its stack lives and its report goes.</summary>
public abstract record ThrowawayRunOptions
{
    public required string RepositoryRoot { get; init; }
    public string Configuration { get; init; } = "Release";

    /// <summary>The run's name: its state under <c>.state/NAME</c>, its report <c>artifacts/NAME.md</c>.</summary>
    protected abstract string Name { get; }

    public string StateDirectory => Path.Combine(RepositoryRoot, ".state", Name);
    public string Output => Path.Combine(RepositoryRoot, "artifacts", Name + ".md");
}

/// <summary>What the benchmark and the soak run share around their native stack.</summary>
internal static class ThrowawayStack
{
    /// <summary>Stops a cluster a previous run left behind under <paramref name="stateDirectory"/> and removes that run's state.</summary>
    public static void ClearState(string stateDirectory)
    {
        PostgresCluster.StopExisting(Path.Combine(stateDirectory, "postgres"));
        if (Directory.Exists(stateDirectory))
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    /// <summary>
    /// Runs <paramref name="run"/>, which starts and stops a native stack under <paramref name="stateDirectory"/>, then
    /// removes that stack's database (gigabytes after a run) even when the run failed; the logs stay until the next run.
    /// </summary>
    public static async Task<int> RunThenDropDatabaseAsync(string stateDirectory, Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        finally
        {
            var database = Path.Combine(stateDirectory, "postgres");
            if (Directory.Exists(database))
            {
                Directory.Delete(database, recursive: true);
            }
        }
    }
}

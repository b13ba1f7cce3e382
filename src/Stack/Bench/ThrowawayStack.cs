namespace Vigie.Stack.Bench;

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

using Npgsql;
using Vigie.Stack;

namespace Vigie.Testing;

/// <summary>
/// The PostgreSQL the tests run against: <c>VIGIE_TEST_DATABASE</c> (a connection string) when set, otherwise one
/// throwaway cluster per test assembly started from the system's binaries.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static TestDatabase? s_shared;

    private TestDatabase(string connectionString, PostgresCluster? cluster)
    {
        ConnectionString = connectionString;
        Cluster = cluster;
    }

    /// <summary>Connection string the app uses.</summary>
    public string ConnectionString { get; }

    /// <summary>The throwaway cluster, when the tests started one (null with <c>VIGIE_TEST_DATABASE</c>).</summary>
    public PostgresCluster? Cluster { get; }

    /// <summary>The shared database, started on first use; ends the test (skip or fail) when PostgreSQL is not installed.</summary>
    public static async Task<TestDatabase> GetAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (s_shared is not null)
            {
                return s_shared;
            }
            var given = Environment.GetEnvironmentVariable("VIGIE_TEST_DATABASE");
            if (!string.IsNullOrWhiteSpace(given))
            {
                return s_shared = new TestDatabase(given, null);
            }
            Infrastructure.Require(PostgresCluster.IsInstalled, "PostgreSQL server binaries (initdb, pg_ctl) are not installed");
            var cluster = await PostgresCluster.CreateAsync();
            return s_shared = new TestDatabase(cluster.AppConnectionString, cluster);
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Stops the shared cluster; called once at the end of the test assembly.</summary>
    public static async Task StopSharedAsync()
    {
        if (s_shared is not null)
        {
            await s_shared.DisposeAsync();
            s_shared = null;
        }
    }

    /// <summary>A single value from the app's database.</summary>
    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public ValueTask DisposeAsync()
    {
        Cluster?.Dispose();
        return ValueTask.CompletedTask;
    }
}

using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;
using Vigie.Web.Infrastructure.Telemetry;

namespace Vigie.Web.Infrastructure.Database;

/// <summary>Raised when PostgreSQL cannot be reached or fails; the API maps it to 503 and the pages to a clear message.</summary>
public sealed class DatabaseUnavailableException(string operation, Exception inner)
    : Exception($"The database is unavailable ({operation}): {inner.Message}", inner)
{
    public string Operation { get; } = operation;
}

/// <summary>
/// The one way the app talks to PostgreSQL: every operation is named, timed into
/// <c>vigie_db_query_duration_seconds</c>, and its failures counted in <c>vigie_db_errors_total</c> and turned into
/// <see cref="DatabaseUnavailableException"/>.
/// </summary>
public sealed class VigieDatabase(NpgsqlDataSource dataSource, VigieMetrics metrics)
{
    /// <summary>
    /// Every operation name the app passes to <see cref="RunAsync{T}"/> (the <c>operation</c> label of the DB metrics,
    /// whose series exist from the start). A unit test checks it against the names the code uses.
    /// </summary>
    public static readonly IReadOnlyList<string> Operations = ["ping", "insert_prediction", "get_prediction", "list_predictions", "record_feedback", "copy_batch", "get_batch", "insert_alerts", "list_alerts",
        "read_models", "change_models", "load_model", "training_data", "training_run", "insert_shadow", "model_stats", "data_protection_keys", "delete_expired_predictions", "idempotency_keys"];

    public NpgsqlDataSource DataSource { get; } = dataSource;

    /// <summary>Runs <paramref name="work"/> on an open connection as the named operation.</summary>
    public async Task<T> RunAsync<T>(string operation, Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
            return await work(connection);
        }
        catch (Exception ex) when (IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            metrics.RecordDbError(operation);
            throw new DatabaseUnavailableException(operation, ex);
        }
        finally
        {
            metrics.RecordDbQuery(operation, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    // Constraint violations and the like are bugs or bad input, not an outage: they are not translated. A refused login
    // (class 28: wrong password) or a missing database (3D000) makes the database as unusable for every request as an
    // outage does: 503, and the probe reports it.
    internal static bool IsUnavailable(Exception ex) => ex switch
    {
        PostgresException pg => pg.IsTransient || pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState == "53300"
            || pg.SqlState.StartsWith("28", StringComparison.Ordinal) || pg.SqlState == "3D000",
        NpgsqlException => true,
        SocketException or TimeoutException => true,
        InvalidOperationException { InnerException: NpgsqlException or SocketException } => true,
        _ => false,
    };
}

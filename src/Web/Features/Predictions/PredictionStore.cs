using System.Data.Common;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Predictions;

/// <summary>A prediction about to be stored.</summary>
public sealed record NewPrediction(Measurements Measurements, SpeciesPrediction Result, string Channel, string ModelVersion);

/// <summary>A stored batch row with its prediction: its line in the upload and the values of its extra columns.</summary>
public sealed record StoredBatchPrediction(int Line, string[] ExtraValues, Prediction Prediction);

/// <summary>How many rows of a batch were predicted <see cref="Predicted"/> and labelled <see cref="Label"/> (null: no species label).</summary>
public sealed record BatchTally(string Predicted, string? Label, int Rows);

/// <summary>
/// The owner of the <c>predictions</c> table: the only code that names its columns. It reads and writes single
/// predictions (the grouped insert goes through <see cref="PredictionWriter"/>), streams a batch's rows in through
/// binary COPY and back out, and reads what the model registry needs (feedback for retraining, a batch's inputs for
/// the shadow model). Every statement parameterised.
/// </summary>
public sealed class PredictionStore(VigieDatabase database, PredictionWriter writer)
{
    /// <summary>The measurement columns, in <see cref="Measurement.All"/> order.</summary>
    internal static readonly string MeasurementColumns = string.Join(", ", Measurement.All.Select(m => m.Column));

    /// <summary>The probability columns, in <see cref="Species.All"/> order.</summary>
    internal static readonly string ProbabilityColumns = string.Join(", ", Species.All.Select(Species.ProbabilityName));

    /// <summary>The columns a single prediction is inserted with, in the order <see cref="Values"/> gives them.</summary>
    internal static readonly string InsertColumns = $"{MeasurementColumns}, species, confidence, {ProbabilityColumns}, channel, model_version";

    /// <summary>A scalar subquery: the id of the newest stored prediction, 0 when there is none.</summary>
    internal const string NewestIdSql = "(SELECT coalesce(max(id), 0) FROM predictions)";

    // The columns read into a Prediction, in the order Read expects them.
    private static readonly string Columns = $"""
        id, {MeasurementColumns}, species, confidence, {ProbabilityColumns}, channel, model_version, created_at, batch_id, actual_species
        """;

    /// <summary>
    /// Stores one prediction, committed when the returned task completes, and returns it as stored. The insert goes
    /// through <see cref="PredictionWriter"/>, which writes the predictions of concurrent requests together.
    /// </summary>
    public async Task<Prediction> InsertAsync(NewPrediction prediction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        var (id, createdAt) = await writer.InsertAsync(prediction, cancellationToken);
        var result = prediction.Result;
        // The values stored are the values sent (float8 round-trips doubles exactly): the answer is built from them.
        return new Prediction(id, prediction.Measurements, result.Species, result.Confidence,
            Species.All.ToDictionary(s => s, s => result.Probabilities[s]),
            prediction.Channel, prediction.ModelVersion, createdAt, null, null);
    }

    public Task<Prediction?> FindAsync(long id, CancellationToken cancellationToken) =>
        database.RunAsync("get_prediction", async connection =>
            (await ReadAllAsync(connection, $"SELECT {Columns} FROM predictions WHERE id = @id", new { id }, cancellationToken)).SingleOrDefault(),
            cancellationToken);

    /// <summary>Newest first, keyset-paged on id so deep pages cost the same as the first.</summary>
    public Task<IReadOnlyList<Prediction>> ListAsync(PredictionQuery query, int take, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return database.RunAsync("list_predictions", async connection => (IReadOnlyList<Prediction>)await ReadAllAsync(connection, $"""
                SELECT {Columns} FROM predictions
                WHERE (@Before::bigint IS NULL OR id < @Before)
                  AND (@Species::text IS NULL OR species = @Species)
                  AND (@Channel::text IS NULL OR channel = @Channel)
                  AND (@Batch::uuid IS NULL OR batch_id = @Batch)
                ORDER BY id DESC
                LIMIT @Take
                """,
                new { query.Before, query.Species, query.Channel, query.Batch, Take = take }, cancellationToken), cancellationToken);
    }

    /// <summary>Records the true species once; returns null when the prediction does not exist, and the stored row otherwise.</summary>
    public Task<(Prediction? Prediction, bool Recorded)> RecordFeedbackAsync(long id, string actualSpecies, CancellationToken cancellationToken) =>
        database.RunAsync("record_feedback", async connection =>
        {
            var updated = (await ReadAllAsync(connection, $"""
                UPDATE predictions SET actual_species = @actualSpecies, feedback_at = now()
                WHERE id = @id AND actual_species IS NULL
                RETURNING {Columns}
                """, new { id, actualSpecies }, cancellationToken)).SingleOrDefault();
            if (updated is not null)
            {
                return ((Prediction?)updated, true);
            }
            var existing = (await ReadAllAsync(connection, $"SELECT {Columns} FROM predictions WHERE id = @id", new { id }, cancellationToken)).SingleOrDefault();
            return (existing, false);
        }, cancellationToken);

    /// <summary>The feedback rows for retraining: the newest <paramref name="limit"/> predictions with a true species, oldest first.</summary>
    public Task<IReadOnlyList<FeedbackRow>> FeedbackAsync(int limit, CancellationToken cancellationToken) =>
        database.RunAsync("training_data", async connection =>
        {
            await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition($"""
                SELECT id, actual_species, {MeasurementColumns}
                FROM predictions WHERE actual_species IS NOT NULL
                ORDER BY id DESC LIMIT @limit
                """, new { limit }, cancellationToken: cancellationToken));
            var rows = new List<FeedbackRow>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new FeedbackRow(reader.GetInt64(0), ReadMeasurements(reader, 2), reader.GetString(1)));
            }
            rows.Reverse();
            return (IReadOnlyList<FeedbackRow>)rows;
        }, cancellationToken);

    /// <summary>The inputs and served species of a batch's rows in line order, for the shadow model to score.</summary>
    public Task<List<(long Id, Measurements Measurements, string Served)>> BatchInputsAsync(Guid batchId, CancellationToken cancellationToken) =>
        database.RunAsync("get_batch", async connection =>
        {
            await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition($"""
                SELECT id, species, {MeasurementColumns}
                FROM predictions WHERE batch_id = @batchId ORDER BY batch_line
                """, new { batchId }, cancellationToken: cancellationToken));
            var rows = new List<(long, Measurements, string)>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetInt64(0), ReadMeasurements(reader, 2), reader.GetString(1)));
            }
            return rows;
        }, cancellationToken);

    /// <summary>
    /// The rows of a batch counted by predicted species and by the species named in its extra column number
    /// <paramref name="labelColumn"/> (0-based; null when it has none): the label is null where that value is not one of
    /// <see cref="Species.All"/> (any case, trimmed). A handful of groups, however large the batch.
    /// </summary>
    public Task<IReadOnlyList<BatchTally>> TallyBatchAsync(Guid batchId, int? labelColumn, CancellationToken cancellationToken) =>
        database.RunAsync("get_batch", async connection =>
        {
            var rows = await connection.QueryAsync<(string Predicted, string? Label, int Rows)>(new CommandDefinition("""
                SELECT species, labels.species_label, count(*)::int
                FROM predictions
                LEFT JOIN unnest(@names::text[]) AS labels (species_label)
                  ON lower(labels.species_label) = lower(btrim(batch_extra_values[@position]))
                WHERE batch_id = @batchId
                GROUP BY 1, 2
                """, new { batchId, names = Species.All.ToArray(), position = labelColumn + 1 }, cancellationToken: cancellationToken));
            return (IReadOnlyList<BatchTally>)rows.Select(r => new BatchTally(r.Predicted, r.Label, r.Rows)).ToList();
        }, cancellationToken);

    /// <summary>
    /// Hands the batch's stored rows to <paramref name="write"/> in line order, each read from PostgreSQL when the one
    /// before was written: a batch of any size costs one row of memory, however slowly the client takes it.
    /// <paramref name="limit"/> stops after the first rows (null: all of them).
    /// </summary>
    public Task<int> WriteBatchAsync(Guid batchId, Func<StoredBatchPrediction, Task> write, CancellationToken cancellationToken, int? limit = null)
    {
        ArgumentNullException.ThrowIfNull(write);
        return database.RunAsync("get_batch", async connection =>
        {
            // LIMIT NULL is no limit.
            await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition($"""
                SELECT {Columns}, batch_line, batch_extra_values
                FROM predictions WHERE batch_id = @batchId ORDER BY batch_line LIMIT @limit
                """, new { batchId, limit }, cancellationToken: cancellationToken));
            var line = reader.GetOrdinal("batch_line");
            var extraValues = reader.GetOrdinal("batch_extra_values");
            var rows = 0;
            while (await reader.ReadAsync(cancellationToken))
            {
                var extras = await reader.IsDBNullAsync(extraValues, cancellationToken) ? [] : reader.GetFieldValue<string[]>(extraValues);
                await write(new StoredBatchPrediction(reader.GetInt32(line), extras, Read(reader)));
                rows++;
            }
            return rows;
        }, cancellationToken);
    }

    /// <summary>
    /// Starts the binary COPY of a batch's predictions on <paramref name="connection"/> (inside the caller's transaction);
    /// the caller writes each row with <see cref="WriteBatchRowAsync"/> and completes or disposes the importer.
    /// </summary>
    public static Task<NpgsqlBinaryImporter> BeginBatchCopyAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.BeginBinaryImportAsync($"""
            COPY predictions ({InsertColumns}, batch_id, batch_line, batch_extra_values)
            FROM STDIN (FORMAT BINARY)
            """, cancellationToken);
    }

    /// <summary>Writes one batch row to a COPY begun by <see cref="BeginBatchCopyAsync"/>.</summary>
    public static async Task WriteBatchRowAsync(NpgsqlBinaryImporter importer, Guid batchId, string modelVersion, int line,
        Measurements measurements, string[] extraValues, SpeciesPrediction result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(importer);
        ArgumentNullException.ThrowIfNull(extraValues);
        ArgumentNullException.ThrowIfNull(result);
        await importer.StartRowAsync(cancellationToken);
        foreach (var measurement in Measurement.All)
        {
            await importer.WriteAsync(measurement.Read(measurements), NpgsqlDbType.Double, cancellationToken);
        }
        await importer.WriteAsync(result.Species, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(result.Confidence, NpgsqlDbType.Double, cancellationToken);
        foreach (var species in Species.All)
        {
            await importer.WriteAsync(result.Probabilities[species], NpgsqlDbType.Double, cancellationToken);
        }
        await importer.WriteAsync(Channels.Batch, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(modelVersion, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(batchId, NpgsqlDbType.Uuid, cancellationToken);
        await importer.WriteAsync(line, NpgsqlDbType.Integer, cancellationToken);
        // Without extra columns the value is NULL rather than an empty array: a bit in the row instead of ~20 bytes.
        if (extraValues.Length == 0)
        {
            await importer.WriteNullAsync(cancellationToken);
        }
        else
        {
            await importer.WriteAsync(extraValues, NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
        }
    }

    /// <summary>
    /// The columns of <see cref="InsertColumns"/> for a group of predictions, one array per column, for
    /// <c>unnest</c>: measurements, species, confidence, probabilities, channel, model version.
    /// </summary>
    internal static List<NpgsqlParameter> Values(IReadOnlyList<NewPrediction> group)
    {
        var n = group.Count;
        var parameters = new List<NpgsqlParameter>();
        foreach (var measurement in Measurement.All)
        {
            parameters.Add(Array(group, p => measurement.Read(p.Measurements)));
        }
        parameters.Add(Array(group, p => p.Result.Species));
        parameters.Add(Array(group, p => p.Result.Confidence));
        foreach (var species in Species.All)
        {
            parameters.Add(Array(group, p => p.Result.Probabilities[species]));
        }
        parameters.Add(Array(group, p => p.Channel));
        parameters.Add(Array(group, p => p.ModelVersion));
        return parameters;

        static NpgsqlParameter<T[]> Array<T>(IReadOnlyList<NewPrediction> group, Func<NewPrediction, T> value)
        {
            var values = new T[group.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = value(group[i]);
            }
            return new NpgsqlParameter<T[]> { TypedValue = values };
        }
    }

    /// <summary>The PostgreSQL array type of each of <see cref="Values"/>, for the <c>unnest</c> of the grouped insert.</summary>
    internal static IEnumerable<string> ValueTypes() =>
        Measurement.All.Select(_ => "float8[]").Concat(["text[]", "float8[]"]).Concat(Species.All.Select(_ => "float8[]")).Concat(["text[]", "text[]"]);

    private static async Task<List<Prediction>> ReadAllAsync(NpgsqlConnection connection, string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
        var predictions = new List<Prediction>();
        while (await reader.ReadAsync(cancellationToken))
        {
            predictions.Add(Read(reader));
        }
        return predictions;
    }

    private static Measurements ReadMeasurements(DbDataReader reader, int start)
    {
        Span<double> values = stackalloc double[Measurement.All.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = reader.GetDouble(start + i);
        }
        return Measurements.From(values);
    }

    // Reads the row of Columns at the reader's position.
    private static Prediction Read(DbDataReader reader)
    {
        var i = 0;
        var id = reader.GetInt64(i++);
        var measurements = ReadMeasurements(reader, i);
        i += Measurement.All.Count;
        var species = reader.GetString(i++);
        var confidence = reader.GetDouble(i++);
        var probabilities = new Dictionary<string, double>(Species.All.Count);
        foreach (var name in Species.All)
        {
            probabilities[name] = reader.GetDouble(i++);
        }
        var channel = reader.GetString(i++);
        var modelVersion = reader.GetString(i++);
        var createdAt = new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(i++), DateTimeKind.Utc));
        Guid? batchId = reader.IsDBNull(i) ? null : reader.GetGuid(i);
        i++;
        var actualSpecies = reader.IsDBNull(i) ? null : reader.GetString(i);
        return new Prediction(id, measurements, species, confidence, probabilities, channel, modelVersion, createdAt, batchId, actualSpecies);
    }
}

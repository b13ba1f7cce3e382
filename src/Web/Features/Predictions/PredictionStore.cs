using System.Data.Common;
using Dapper;
using Npgsql;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Predictions;

/// <summary>A prediction about to be stored.</summary>
public sealed record NewPrediction(Measurements Measurements, SpeciesPrediction Result, string Channel, string ModelVersion);

/// <summary>
/// What one retention step did: predictions deleted, the id the next step continues after, and whether it reached the
/// predictions still within the retention (nothing older is left until time passes).
/// </summary>
public sealed record RetentionStep(int Deleted, long ContinueAfter, bool ReachedRetained);

/// <summary>A stored batch row with its prediction: its line in the upload and the values of its extra columns.</summary>
public sealed record StoredBatchPrediction(int Line, string[] ExtraValues, Prediction Prediction);

/// <summary>
/// How many rows of a batch were predicted <see cref="Predicted"/> and labelled <see cref="Label"/> (null: no species
/// label), and how many of them were flagged out of distribution.
/// </summary>
public sealed record BatchTally(string Predicted, string? Label, int Rows, int OutOfDistribution = 0);

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
    internal static readonly string InsertColumns = $"{MeasurementColumns}, species, confidence, {ProbabilityColumns}, channel, model_version, ood_score, ood_features";

    /// <summary>The columns a batch row is copied into, in the order <see cref="BatchPredictionCopy"/> writes them.</summary>
    internal static readonly string BatchCopyColumns = $"{InsertColumns}, batch_id, batch_line, batch_extra_values";

    /// <summary>A scalar subquery: the id of the newest stored prediction, 0 when there is none.</summary>
    internal const string NewestIdSql = "(SELECT coalesce(max(id), 0) FROM predictions)";

    // The columns read into a Prediction, in the order Read expects them.
    private static readonly string Columns = $"""
        id, {MeasurementColumns}, species, confidence, {ProbabilityColumns}, channel, model_version, created_at, batch_id, actual_species,
        ood_score, ood_features
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
            result.Probabilities,
            prediction.Channel, prediction.ModelVersion, createdAt, null, null)
        {
            OutOfDistribution = OutOfDistributionReport.Of(result.OutOfDistribution),
        };
    }

    public Task<Prediction?> FindAsync(long id, CancellationToken cancellationToken) =>
        database.RunAsync("get_prediction", async connection =>
            (await ReadAllAsync(connection, $"SELECT {Columns} FROM predictions WHERE id = @id", new { id }, cancellationToken)).SingleOrDefault(),
            cancellationToken);

    /// <summary>
    /// Newest first, keyset-paged on id so deep pages cost the same as the first. Each combination of filters is a
    /// statement of its own, with the species and channel written in as literals from their closed vocabularies (never
    /// the client's text): the app prepares its frequent statements (<c>MaxAutoPrepare</c>) and PostgreSQL then settles
    /// on one generic plan per statement, and a generic plan of <c>(@before IS NULL OR id &lt; @before) AND (@channel IS
    /// NULL OR channel = @channel)</c> can neither start at the cursor nor pick the channel's partial index: it walked the
    /// primary key down from the newest row, so a deep page or a rare channel cost a scan of millions of rows.
    /// </summary>
    public Task<IReadOnlyList<Prediction>> ListAsync(PredictionQuery query, int take, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return database.RunAsync("list_predictions", async connection => (IReadOnlyList<Prediction>)await ReadAllAsync(connection,
            ListSql(query), new { Before = query.Channel is null ? query.Before : query.Before ?? long.MaxValue, query.Batch, Take = take }, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// The statement of <see cref="ListAsync"/> for the filters of <paramref name="query"/> (parameters @Before, @Batch
    /// and @Take). Filtered by channel, the page is read from that channel's own index (<c>db/0009</c>), bounded by row
    /// comparisons on <c>(channel, id)</c>: only that index can start at the cursor, so the planner cannot pick the
    /// primary key instead, whose walk down from the cursor steps over every row of the other channels in between (the
    /// 100,000 rows of a batch upload for one page of form predictions).
    /// </summary>
    internal static string ListSql(PredictionQuery query)
    {
        var conditions = new List<string>(3);
        var order = "id DESC";
        if (query.Channel is not null)
        {
            var channel = Channels.All.Single(c => c == query.Channel);
            // The partial indexes of db/0004 and db/0009: batch rows apart from the rest.
            conditions.Add(channel == Channels.Batch ? $"channel = '{channel}'" : $"channel <> '{Channels.Batch}'");
            // Without a cursor @Before is long.MaxValue (ListAsync): one statement per channel, first page or not.
            conditions.Add($"(channel, id) < ('{channel}', @Before)");
            conditions.Add($"(channel, id) > ('{channel}', 0)");
            order = "channel DESC, id DESC";
        }
        else if (query.Before is not null)
        {
            conditions.Add("id < @Before");
        }
        if (query.Species is not null)
        {
            conditions.Add($"species = '{Species.All.Single(s => s == query.Species)}'");
        }
        if (query.Batch is not null)
        {
            conditions.Add("batch_id = @Batch");
        }
        var where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        return $"SELECT {Columns} FROM predictions {where} ORDER BY {order} LIMIT @Take";
    }

    /// <summary>
    /// One step of the retention: looks at the next <paramref name="limit"/> predictions above id
    /// <paramref name="after"/>, oldest first, and deletes those made more than <paramref name="days"/> days ago (by the
    /// database's clock) that have no feedback (feedback rows are the model registry's training data and live
    /// accuracy: they are kept). Ids grow with <c>created_at</c>, so the expired rows are the lowest ids and one walk up
    /// the primary key finds them all, each examined once: the step returns the id to continue after and whether it
    /// reached the first prediction still within the retention (then nothing older is left). A short statement that
    /// locks only the old rows it deletes: inserts never wait for it.
    /// </summary>
    public Task<RetentionStep> DeleteExpiredAsync(int days, int limit, long after, CancellationToken cancellationToken) =>
        database.RunAsync("delete_expired_predictions", async connection =>
        {
            // The DELETE checks actual_species again: feedback recorded meanwhile (the row re-read after its lock) keeps it.
            var row = await connection.QuerySingleAsync<(long Deleted, long? LastExpired, bool ReachedRetained)>(new CommandDefinition("""
                WITH examined AS (
                    SELECT id, created_at < now() - make_interval(days => @days) AS expired, actual_species IS NULL AS unlabelled
                    FROM predictions WHERE id > @after ORDER BY id LIMIT @limit
                ),
                edge AS (SELECT min(id) AS id FROM examined WHERE NOT expired),
                expired AS (SELECT e.id, e.unlabelled FROM examined e, edge WHERE e.expired AND (edge.id IS NULL OR e.id < edge.id)),
                deleted AS (
                    DELETE FROM predictions p USING expired x
                    WHERE p.id = x.id AND x.unlabelled AND p.actual_species IS NULL
                    RETURNING p.id
                )
                SELECT (SELECT count(*) FROM deleted), (SELECT max(id) FROM expired),
                       (SELECT id IS NOT NULL FROM edge) OR (SELECT count(*) FROM examined) < @limit
                """, new { days, limit, after }, cancellationToken: cancellationToken));
            return new RetentionStep((int)row.Deleted, row.LastExpired ?? after, row.ReachedRetained);
        }, cancellationToken);

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
    /// <see cref="Species.All"/> (any case, trimmed), with the rows of each group flagged out of distribution (unlike the
    /// serving version's training data). A handful of groups, however large the batch, in one read of its rows.
    /// </summary>
    public Task<IReadOnlyList<BatchTally>> TallyBatchAsync(Guid batchId, int? labelColumn, CancellationToken cancellationToken) =>
        database.RunAsync("get_batch", async connection =>
        {
            var rows = await connection.QueryAsync<(string Predicted, string? Label, int Rows, int OutOfDistribution)>(new CommandDefinition("""
                SELECT species, labels.species_label, count(*)::int, (count(*) FILTER (WHERE ood_features IS NOT NULL))::int
                FROM predictions
                LEFT JOIN unnest(@names::text[]) AS labels (species_label)
                  ON lower(labels.species_label) = lower(btrim(batch_extra_values[@position]))
                WHERE batch_id = @batchId
                GROUP BY 1, 2
                """, new { batchId, names = Species.All.ToArray(), position = labelColumn + 1 }, cancellationToken: cancellationToken));
            return (IReadOnlyList<BatchTally>)rows.Select(r => new BatchTally(r.Predicted, r.Label, r.Rows, r.OutOfDistribution)).ToList();
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
        parameters.Add(Array(group, p => p.Result.OutOfDistribution.Score));
        parameters.Add(Array(group, p => OutOfRangeColumns(p.Result.OutOfDistribution)));
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
        Measurement.All.Select(_ => "float8[]").Concat(["text[]", "float8[]"]).Concat(Species.All.Select(_ => "float8[]")).Concat(["text[]", "text[]", "float8[]", "text[]"]);

    /// <summary>
    /// <c>ood_features</c>: the column names of the measurements beyond the margin, comma-separated; NULL when in
    /// distribution.
    /// </summary>
    internal static string? OutOfRangeColumns(OutOfDistribution outOfDistribution) =>
        outOfDistribution.Flagged ? string.Join(',', outOfDistribution.Features.Select(m => m.Column)) : null;

    private static OutOfDistributionReport? ReadOutOfDistribution(DbDataReader reader, int score, int features) =>
        reader.IsDBNull(score) ? null : new OutOfDistributionReport(
            !reader.IsDBNull(features),
            reader.GetDouble(score),
            reader.IsDBNull(features) ? [] : reader.GetString(features).Split(',').Select(c => Measurement.All.First(m => m.Column == c).JsonName).ToArray());

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
        i++;
        return new Prediction(id, measurements, species, confidence, probabilities, channel, modelVersion, createdAt, batchId, actualSpecies)
        {
            OutOfDistribution = ReadOutOfDistribution(reader, i, i + 1),
        };
    }
}

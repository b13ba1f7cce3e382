using Dapper;
using Npgsql;
using NpgsqlTypes;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Model;

namespace Vigie.Web.Features.Batches;

/// <summary>A batch about to be stored: its id, the uploaded file's name, its extra columns and the model scoring it.</summary>
public sealed record NewBatch(Guid Id, string FileName, IReadOnlyList<string> ExtraColumns, string ModelVersion);

/// <summary>A data line of an upload after scoring: an accepted row with its prediction, or a rejection.</summary>
public readonly record struct ScoredLine(BatchRow? Row, SpeciesPrediction? Result, RowError? Error);

/// <summary>What a committed batch holds: the rows stored, the count of rejected lines and the first of them, in file order.</summary>
public sealed record StoredBatch(int Accepted, int Rejected, IReadOnlyList<RowError> StoredRejections)
{
    /// <summary>Rejected lines counted but not stored.</summary>
    public int RejectionsOmitted => Rejected - StoredRejections.Count;
}

/// <summary>How much one upload may store: its data lines, and the rejected lines kept with their reasons.</summary>
public readonly record struct BatchLimits(int MaxRows, int MaxStoredRejections);

/// <summary>A stored batch as its report shows it.</summary>
public sealed record BatchSummary(Guid Id, string FileName, int AcceptedRows, int RejectedRows, string ModelVersion, DateTimeOffset CreatedAt, IReadOnlyList<string> ExtraColumns);

/// <summary>One stored row of a batch with its prediction, for the results CSV.</summary>
public sealed record BatchResultRow(int Line, string[] ExtraValues, Prediction Prediction);

/// <summary>SQL of <c>batches</c>, <c>batch_rejections</c> and the batch rows of <c>predictions</c>.</summary>
public sealed class BatchStore(VigieDatabase database)
{
    /// <summary>
    /// Stores the batch, its predictions and the first <see cref="BatchLimits.MaxStoredRejections"/> rejections in one
    /// transaction; the other rejections are counted only. <paramref name="lines"/> is read while the predictions stream
    /// to PostgreSQL through binary COPY, so parsing and scoring here overlap with PostgreSQL storing the rows before them;
    /// until the commit nobody sees any of it, and a failure stores nothing. Returns null, having stored nothing, when
    /// there are more than <see cref="BatchLimits.MaxRows"/> lines: reading stops at the first one over.
    /// </summary>
    public Task<StoredBatch?> SaveAsync(NewBatch batch, IEnumerable<ScoredLine> lines, BatchLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(lines);
        return database.RunAsync("copy_batch", async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // The batch row comes first (its predictions must name a stored batch); its counts are known at the end.
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO batches (id, file_name, extra_columns, accepted_rows, rejected_rows, model_version)
                VALUES (@Id, @FileName, @ExtraColumns, 0, 0, @ModelVersion)
                """,
                new { batch.Id, batch.FileName, ExtraColumns = batch.ExtraColumns.ToArray(), batch.ModelVersion },
                transaction, cancellationToken: cancellationToken));

            var accepted = 0;
            var rejected = 0;
            var storedRejections = new List<RowError>();
            await using (var rows = await connection.BeginBinaryImportAsync("""
                COPY predictions (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence,
                                  probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version,
                                  batch_id, batch_line, batch_extra_values)
                FROM STDIN (FORMAT BINARY)
                """, cancellationToken))
            {
                foreach (var line in lines)
                {
                    if (accepted + rejected == limits.MaxRows)
                    {
                        // Disposing the importer unfinished cancels the COPY; the transaction is rolled back unused.
                        return null;
                    }
                    if (line is { Row: { } row, Result: { } result })
                    {
                        await WriteRowAsync(rows, batch, row, result, cancellationToken);
                        accepted++;
                    }
                    else
                    {
                        var error = line.Error ?? throw new ArgumentException("A line is either scored or rejected.", nameof(lines));
                        if (rejected++ < limits.MaxStoredRejections)
                        {
                            storedRejections.Add(error);
                        }
                    }
                }
                await rows.CompleteAsync(cancellationToken);
            }

            await using (var rejections = await connection.BeginBinaryImportAsync(
                "COPY batch_rejections (batch_id, line, message) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                foreach (var error in storedRejections)
                {
                    await rejections.StartRowAsync(cancellationToken);
                    await rejections.WriteAsync(batch.Id, NpgsqlDbType.Uuid, cancellationToken);
                    await rejections.WriteAsync(error.Line, NpgsqlDbType.Integer, cancellationToken);
                    await rejections.WriteAsync(error.Message, NpgsqlDbType.Text, cancellationToken);
                }
                await rejections.CompleteAsync(cancellationToken);
            }

            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE batches SET accepted_rows = @accepted, rejected_rows = @rejected WHERE id = @Id",
                new { accepted, rejected, batch.Id }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return (StoredBatch?)new StoredBatch(accepted, rejected, storedRejections);
        }, cancellationToken);
    }

    private static async Task WriteRowAsync(NpgsqlBinaryImporter importer, NewBatch batch, BatchRow row, SpeciesPrediction result, CancellationToken cancellationToken)
    {
        var m = row.Measurements;
        await importer.StartRowAsync(cancellationToken);
        await importer.WriteAsync(m.BillLengthMm, NpgsqlDbType.Double, cancellationToken);
        await importer.WriteAsync(m.BillDepthMm, NpgsqlDbType.Double, cancellationToken);
        await importer.WriteAsync(m.FlipperLengthMm, NpgsqlDbType.Double, cancellationToken);
        await importer.WriteAsync(m.BodyMassG, NpgsqlDbType.Double, cancellationToken);
        await importer.WriteAsync(result.Species, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(result.Confidence, NpgsqlDbType.Double, cancellationToken);
        await importer.WriteAsync(result.Probabilities[Species.Adelie], NpgsqlDbType.Double, cancellationToken);
        await importer.WriteAsync(result.Probabilities[Species.Chinstrap], NpgsqlDbType.Double, cancellationToken);
        await importer.WriteAsync(result.Probabilities[Species.Gentoo], NpgsqlDbType.Double, cancellationToken);
        await importer.WriteAsync(Channels.Batch, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(batch.ModelVersion, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(batch.Id, NpgsqlDbType.Uuid, cancellationToken);
        await importer.WriteAsync(row.Line, NpgsqlDbType.Integer, cancellationToken);
        // Without extra columns the value is NULL rather than an empty array: a bit in the row instead of ~20 bytes.
        if (row.ExtraValues.Length == 0)
        {
            await importer.WriteNullAsync(cancellationToken);
        }
        else
        {
            await importer.WriteAsync(row.ExtraValues, NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
        }
    }

    public Task<BatchSummary?> FindAsync(Guid id, CancellationToken cancellationToken) =>
        database.RunAsync("get_batch", async connection =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<BatchRecord>(new CommandDefinition("""
                SELECT id, file_name, accepted_rows, rejected_rows, model_version, created_at, extra_columns
                FROM batches WHERE id = @id
                """, new { id }, cancellationToken: cancellationToken));
            return row is null ? null : new BatchSummary(row.id, row.file_name, row.accepted_rows, row.rejected_rows, row.model_version,
                new DateTimeOffset(DateTime.SpecifyKind(row.created_at, DateTimeKind.Utc)), row.extra_columns);
        }, cancellationToken);

    public Task<IReadOnlyList<RowError>> RejectionsAsync(Guid id, int limit, CancellationToken cancellationToken) =>
        database.RunAsync("get_batch", async connection => (IReadOnlyList<RowError>)(await connection.QueryAsync<RowError>(new CommandDefinition(
            "SELECT line AS Line, message AS Message FROM batch_rejections WHERE batch_id = @id ORDER BY line LIMIT @limit",
            new { id, limit }, cancellationToken: cancellationToken))).ToList(), cancellationToken);

    /// <summary>
    /// Hands the batch's stored rows to <paramref name="write"/> in line order, each read from PostgreSQL when the one
    /// before was written: a batch of any size costs one row of memory, however slowly the client takes it.
    /// </summary>
    public Task<int> WriteResultsAsync(Guid id, Func<BatchResultRow, Task> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        return database.RunAsync("get_batch", async connection =>
        {
            await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition($"""
                SELECT {PredictionStore.Columns}, batch_line, batch_extra_values
                FROM predictions WHERE batch_id = @id ORDER BY batch_line
                """, new { id }, cancellationToken: cancellationToken));
            var line = reader.GetOrdinal("batch_line");
            var extraValues = reader.GetOrdinal("batch_extra_values");
            var prediction = reader.GetRowParser<PredictionStore.PredictionRow>(startIndex: 0, length: line);
            var rows = 0;
            while (await reader.ReadAsync(cancellationToken))
            {
                var extras = await reader.IsDBNullAsync(extraValues, cancellationToken) ? [] : reader.GetFieldValue<string[]>(extraValues);
                await write(new BatchResultRow(reader.GetInt32(line), extras, PredictionStore.ToPrediction(prediction(reader))));
                rows++;
            }
            return rows;
        }, cancellationToken);
    }

#pragma warning disable IDE1006, CA1707 // mirrors the column names so Dapper maps them without configuration
    // Classes with setters, not positional records: Dapper cannot match text[] columns to constructor parameters.
    private sealed class BatchRecord
    {
        public Guid id { get; set; }
        public string file_name { get; set; } = "";
        public int accepted_rows { get; set; }
        public int rejected_rows { get; set; }
        public string model_version { get; set; } = "";
        public DateTime created_at { get; set; }
        public string[] extra_columns { get; set; } = [];
    }
#pragma warning restore IDE1006, CA1707
}

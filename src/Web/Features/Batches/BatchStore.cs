using Dapper;
using Npgsql;
using NpgsqlTypes;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Classifier;

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

/// <summary>SQL of <c>batches</c> and <c>batch_rejections</c>; the batch's rows of <c>predictions</c> go through <see cref="PredictionStore"/>.</summary>
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
            await using (var rows = await BatchPredictionCopy.BeginAsync(connection, batch.Id, batch.ModelVersion, cancellationToken))
            {
                foreach (var line in lines)
                {
                    if (accepted + rejected == limits.MaxRows)
                    {
                        // Disposing the copy unfinished cancels it; the transaction is rolled back unused.
                        return null;
                    }
                    if (line is { Row: { } row, Result: { } result })
                    {
                        await rows.WriteAsync(row.Line, row.Measurements, row.ExtraValues, result, cancellationToken);
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
                "COPY batch_rejections (batch_id, line, message, content) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                foreach (var error in storedRejections)
                {
                    await rejections.StartRowAsync(cancellationToken);
                    await rejections.WriteAsync(batch.Id, NpgsqlDbType.Uuid, cancellationToken);
                    await rejections.WriteAsync(error.Line, NpgsqlDbType.Integer, cancellationToken);
                    await rejections.WriteAsync(error.Message, NpgsqlDbType.Text, cancellationToken);
                    if (error.Content is null)
                    {
                        await rejections.WriteNullAsync(cancellationToken);
                    }
                    else
                    {
                        await rejections.WriteAsync(error.Content, NpgsqlDbType.Text, cancellationToken);
                    }
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
            "SELECT line AS Line, message AS Message, content AS Content FROM batch_rejections WHERE batch_id = @id ORDER BY line LIMIT @limit",
            new { id, limit }, cancellationToken: cancellationToken))).ToList(), cancellationToken);

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

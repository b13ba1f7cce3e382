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

/// <summary>What a committed batch holds: the rows stored, and every rejected line in file order.</summary>
public sealed record StoredBatch(int Accepted, IReadOnlyList<RowError> Rejected);

/// <summary>A stored batch as its report shows it.</summary>
public sealed record BatchSummary(Guid Id, string FileName, int AcceptedRows, int RejectedRows, string ModelVersion, DateTimeOffset CreatedAt, IReadOnlyList<string> ExtraColumns);

/// <summary>One stored row of a batch with its prediction, for the results CSV.</summary>
public sealed record BatchResultRow(int Line, string[] ExtraValues, Prediction Prediction);

/// <summary>SQL of <c>batches</c>, <c>batch_rejections</c> and the batch rows of <c>predictions</c>.</summary>
public sealed class BatchStore(VigieDatabase database)
{
    /// <summary>
    /// Stores the batch, its predictions and its rejections in one transaction. <paramref name="lines"/> is read while
    /// the predictions stream to PostgreSQL through binary COPY, so parsing and scoring here overlap with PostgreSQL
    /// storing the rows before them; until the commit nobody sees any of it, and a failure stores nothing.
    /// </summary>
    public Task<StoredBatch> SaveAsync(NewBatch batch, IEnumerable<ScoredLine> lines, CancellationToken cancellationToken)
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
            var rejected = new List<RowError>();
            await using (var rows = await connection.BeginBinaryImportAsync("""
                COPY predictions (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence,
                                  probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version,
                                  batch_id, batch_line, batch_extra_values)
                FROM STDIN (FORMAT BINARY)
                """, cancellationToken))
            {
                foreach (var line in lines)
                {
                    if (line is { Row: { } row, Result: { } result })
                    {
                        await WriteRowAsync(rows, batch, row, result, cancellationToken);
                        accepted++;
                    }
                    else
                    {
                        rejected.Add(line.Error ?? throw new ArgumentException("A line is either scored or rejected.", nameof(lines)));
                    }
                }
                await rows.CompleteAsync(cancellationToken);
            }

            await using (var rejections = await connection.BeginBinaryImportAsync(
                "COPY batch_rejections (batch_id, line, message) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                foreach (var error in rejected)
                {
                    await rejections.StartRowAsync(cancellationToken);
                    await rejections.WriteAsync(batch.Id, NpgsqlDbType.Uuid, cancellationToken);
                    await rejections.WriteAsync(error.Line, NpgsqlDbType.Integer, cancellationToken);
                    await rejections.WriteAsync(error.Message, NpgsqlDbType.Text, cancellationToken);
                }
                await rejections.CompleteAsync(cancellationToken);
            }

            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE batches SET accepted_rows = @accepted, rejected_rows = @Count WHERE id = @Id",
                new { accepted, rejected.Count, batch.Id }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return new StoredBatch(accepted, rejected);
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

    /// <summary>Streams the batch's stored rows in line order.</summary>
    public Task<IReadOnlyList<BatchResultRow>> ResultsAsync(Guid id, CancellationToken cancellationToken) =>
        database.RunAsync("get_batch", async connection =>
        {
            var rows = await connection.QueryAsync<PredictionStore.PredictionRow, BatchLine, BatchResultRow>(new CommandDefinition($"""
                SELECT {PredictionStore.Columns}, batch_line, batch_extra_values
                FROM predictions WHERE batch_id = @id ORDER BY batch_line
                """, new { id }, cancellationToken: cancellationToken),
                (prediction, line) => new BatchResultRow(line.batch_line, line.batch_extra_values ?? [], PredictionStore.ToPrediction(prediction)),
                splitOn: "batch_line");
            return (IReadOnlyList<BatchResultRow>)rows.ToList();
        }, cancellationToken);

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

    private sealed class BatchLine
    {
        public int batch_line { get; set; }
        public string[]? batch_extra_values { get; set; }
    }
#pragma warning restore IDE1006, CA1707
}

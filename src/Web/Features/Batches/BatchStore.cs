using Dapper;
using Npgsql;
using NpgsqlTypes;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Model;

namespace Vigie.Web.Features.Batches;

/// <summary>A scored batch about to be stored.</summary>
public sealed record NewBatch(Guid Id, string FileName, IReadOnlyList<string> ExtraColumns, IReadOnlyList<(BatchRow Row, SpeciesPrediction Result)> Scored, IReadOnlyList<RowError> Rejected, string ModelVersion);

/// <summary>A stored batch as its report shows it.</summary>
public sealed record BatchSummary(Guid Id, string FileName, int AcceptedRows, int RejectedRows, string ModelVersion, DateTimeOffset CreatedAt, IReadOnlyList<string> ExtraColumns);

/// <summary>One stored row of a batch with its prediction, for the results CSV.</summary>
public sealed record BatchResultRow(int Line, string[] ExtraValues, Prediction Prediction);

/// <summary>SQL of <c>batches</c>, <c>batch_rejections</c> and the batch rows of <c>predictions</c>.</summary>
public sealed class BatchStore(VigieDatabase database)
{
    /// <summary>Stores the batch, its rejections and its predictions in one transaction; predictions go through binary COPY.</summary>
    public Task SaveAsync(NewBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return database.RunAsync("copy_batch", async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO batches (id, file_name, extra_columns, accepted_rows, rejected_rows, model_version)
                VALUES (@Id, @FileName, @ExtraColumns, @Accepted, @Rejected, @ModelVersion)
                """,
                new { batch.Id, batch.FileName, ExtraColumns = batch.ExtraColumns.ToArray(), Accepted = batch.Scored.Count, Rejected = batch.Rejected.Count, batch.ModelVersion },
                transaction, cancellationToken: cancellationToken));

            await using (var rejections = await connection.BeginBinaryImportAsync(
                "COPY batch_rejections (batch_id, line, message) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                foreach (var error in batch.Rejected)
                {
                    await rejections.StartRowAsync(cancellationToken);
                    await rejections.WriteAsync(batch.Id, NpgsqlDbType.Uuid, cancellationToken);
                    await rejections.WriteAsync(error.Line, NpgsqlDbType.Integer, cancellationToken);
                    await rejections.WriteAsync(error.Message, NpgsqlDbType.Text, cancellationToken);
                }
                await rejections.CompleteAsync(cancellationToken);
            }

            await using (var rows = await connection.BeginBinaryImportAsync("""
                COPY predictions (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence,
                                  probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version,
                                  batch_id, batch_line, batch_extra_values)
                FROM STDIN (FORMAT BINARY)
                """, cancellationToken))
            {
                foreach (var (row, result) in batch.Scored)
                {
                    await WriteRowAsync(rows, batch, row, result, cancellationToken);
                }
                await rows.CompleteAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            return true;
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
        await importer.WriteAsync(row.ExtraValues, NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
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

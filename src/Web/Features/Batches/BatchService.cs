using System.ComponentModel.DataAnnotations;
using System.Globalization;
using CsvHelper;
using Vigie.Metrics;
using Vigie.Web.Features.Models;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Model;

namespace Vigie.Web.Features.Batches;

/// <summary>Batch upload limits (<c>Batch:*</c>).</summary>
public sealed class BatchOptions
{
    /// <summary>Largest accepted upload in bytes (default 5 MB); larger ones get 413 and store nothing.</summary>
    [Range(typeof(long), "1", "1073741824")]
    public long MaxUploadBytes { get; set; } = 5 * 1024 * 1024;
}

/// <summary>The answer to an upload whose header was usable.</summary>
public sealed record BatchReport(Guid BatchId, int Accepted, int Rejected, IReadOnlyList<RowError> Errors);

/// <summary>Result of an upload.</summary>
public abstract record BatchOutcome
{
    public sealed record Stored(BatchReport Report) : BatchOutcome;
    public sealed record TooLarge(long Limit) : BatchOutcome;
    public sealed record InvalidFile(string Message) : BatchOutcome;
}

/// <summary>
/// Batch predictions from a CSV upload, shared by the <c>/Batch</c> page and <c>POST /api/predictions/batch</c>:
/// parse, validate each row, score the accepted ones, store everything in one transaction, report per line.
/// </summary>
public sealed class BatchService(PredictionService predictions, BatchStore store, BatchOptions options, VigieMetrics metrics, ShadowScorer shadow, ILogger<BatchService> logger)
{
    public long MaxUploadBytes => options.MaxUploadBytes;

    public async Task<BatchOutcome> UploadAsync(string? fileName, long length, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (length > options.MaxUploadBytes)
        {
            return new BatchOutcome.TooLarge(options.MaxUploadBytes);
        }
        BatchCsv csv;
        try
        {
            csv = BatchCsv.Open(content);
        }
        catch (InvalidBatchFileException ex)
        {
            return new BatchOutcome.InvalidFile(ex.Message);
        }

        using (csv)
        {
            var model = predictions.Model;
            var batch = new NewBatch(Guid.CreateVersion7(), SafeFileName(fileName), csv.ExtraColumns, model.Version);
            // Counted once committed, so the counters never run ahead of the table. Only what the metrics need is kept:
            // holding on to 100,000 predictions would move them all into the collector's older generations.
            var published = new List<(string Species, double Confidence)>();
            var lines = csv.Lines().Select(line =>
            {
                if (line.Row is not { } row)
                {
                    return new ScoredLine(null, null, line.Error);
                }
                var result = predictions.Score(model, row.Measurements, Channels.Batch);
                published.Add((result.Species, result.Confidence));
                return new ScoredLine(row, result, null);
            });
            var stored = await store.SaveAsync(batch, lines, cancellationToken);

            metrics.RecordBatchRows(stored.Accepted, stored.Rejected.Count);
            foreach (var (species, confidence) in published)
            {
                predictions.Published(species, confidence, Channels.Batch, model.Version);
            }
            shadow.OfferBatch(batch.Id);
            logger.LogInformation("Batch {BatchId} stored: {Accepted} rows accepted, {Rejected} rejected", batch.Id, stored.Accepted, stored.Rejected.Count);
            return new BatchOutcome.Stored(new BatchReport(batch.Id, stored.Accepted, stored.Rejected.Count, stored.Rejected.Take(BatchCsv.MaxReportedErrors).ToList()));
        }
    }

    public Task<BatchSummary?> FindAsync(Guid id, CancellationToken cancellationToken) => store.FindAsync(id, cancellationToken);

    public Task<IReadOnlyList<RowError>> RejectionsAsync(Guid id, CancellationToken cancellationToken) =>
        store.RejectionsAsync(id, BatchCsv.MaxReportedErrors, cancellationToken);

    /// <summary>
    /// Writes the results CSV: the line, the extra columns as uploaded (formula-neutralised), the measurements and
    /// the prediction. Returns false when there is no such batch.
    /// </summary>
    public async Task<bool> WriteResultsAsync(Guid id, Stream output, CancellationToken cancellationToken)
    {
        var batch = await store.FindAsync(id, cancellationToken);
        if (batch is null)
        {
            return false;
        }
        var rows = await store.ResultsAsync(id, cancellationToken);
        await using var writer = new StreamWriter(output, leaveOpen: true);
        await using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        csv.WriteField("line");
        foreach (var column in batch.ExtraColumns)
        {
            csv.WriteField(BatchCsv.NeutralizeFormula(column));
        }
        foreach (var header in MeasurementFields.All.Select(f => f.CsvName)
                     .Concat(["species", "confidence", "probability_adelie", "probability_chinstrap", "probability_gentoo", "prediction_id", "model_version"]))
        {
            csv.WriteField(header);
        }
        await csv.NextRecordAsync();
        foreach (var row in rows)
        {
            var p = row.Prediction;
            csv.WriteField(row.Line);
            foreach (var value in row.ExtraValues)
            {
                csv.WriteField(BatchCsv.NeutralizeFormula(value));
            }
            csv.WriteField(p.BillLengthMm);
            csv.WriteField(p.BillDepthMm);
            csv.WriteField(p.FlipperLengthMm);
            csv.WriteField(p.BodyMassG);
            csv.WriteField(p.Species);
            csv.WriteField(p.Confidence.ToString("0.0000", CultureInfo.InvariantCulture));
            foreach (var species in Species.All)
            {
                csv.WriteField(p.Probabilities[species].ToString("0.0000", CultureInfo.InvariantCulture));
            }
            csv.WriteField(p.Id);
            csv.WriteField(p.ModelVersion);
            await csv.NextRecordAsync();
        }
        await csv.FlushAsync();
        return true;
    }

    private static string SafeFileName(string? fileName)
    {
        var name = Path.GetFileName(fileName ?? string.Empty).Trim();
        name = new string(name.Where(c => !char.IsControl(c)).ToArray());
        return name.Length == 0 ? "upload.csv" : name[..Math.Min(name.Length, 200)];
    }
}

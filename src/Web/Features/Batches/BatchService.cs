using System.ComponentModel.DataAnnotations;
using System.Globalization;
using CsvHelper;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Batches;

/// <summary>Batch upload limits (<c>Batch:*</c>): what one upload may cost the app's memory and the database.</summary>
public sealed class BatchOptions
{
    /// <summary>Largest accepted upload in bytes (default 5 MB); larger ones get 413 and store nothing.</summary>
    [Range(typeof(long), "1", "1073741824")]
    public long MaxUploadBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>
    /// Most data lines in one upload (default 200,000, twice the benchmark's batch); a file with more gets 413 and stores
    /// nothing. The byte limit alone lets 5 MB of two-byte lines through: 2.6 million rows to score and store in one
    /// transaction.
    /// </summary>
    public int MaxRows { get; set; } = 200_000;

    /// <summary>
    /// Rejected lines stored with their reasons, and listed in the answer and on the report page (default 1,000); the
    /// others are counted only (<c>rejectionsOmitted</c>). Past the first thousand, the reasons repeat themselves, and
    /// each stored one is a row of <c>batch_rejections</c>.
    /// </summary>
    public int MaxStoredRejections { get; set; } = 1_000;
}

/// <summary>The answer to an upload whose header was usable.</summary>
/// <param name="BatchId">The batch; its results CSV is <c>/api/batches/{batchId}/results.csv</c>.</param>
/// <param name="Accepted">Rows predicted and stored.</param>
/// <param name="Rejected">Rows rejected (malformed or out of range).</param>
/// <param name="Errors">The stored rejections, the first in file order.</param>
/// <param name="RejectionsOmitted">Rejected lines beyond those listed.</param>
/// <param name="OutOfDistribution">
/// Accepted rows whose measurements were unlike the model's training data: their answers deserve caution, and the
/// results CSV flags each (<c>out_of_distribution</c>, <c>ood_score</c>, <c>ood_features</c>).
/// </param>
public sealed record BatchReport(Guid BatchId, int Accepted, int Rejected, IReadOnlyList<RowError> Errors, int RejectionsOmitted, int OutOfDistribution);

/// <summary>Result of an upload.</summary>
public abstract record BatchOutcome
{
    public sealed record Stored(BatchReport Report) : BatchOutcome;
    public sealed record TooLarge(long Limit) : BatchOutcome;
    public sealed record TooManyRows(int Limit) : BatchOutcome;
    public sealed record InvalidFile(string Message) : BatchOutcome;
}

/// <summary>
/// Batch predictions from a CSV upload, shared by the <c>/Batch</c> page and <c>POST /api/predictions/batch</c>:
/// parse, validate each row, score the accepted ones, store everything in one transaction, report per line.
/// </summary>
public sealed class BatchService(PredictionService predictions, PredictionStore stored, BatchStore store, BatchOptions options, VigieMetrics metrics, ILogger<BatchService> logger)
{
    public long MaxUploadBytes => options.MaxUploadBytes;

    public int MaxRows => options.MaxRows;

    /// <summary>What the API's problem and the page say of a file over <see cref="BatchOptions.MaxRows"/>.</summary>
    public static string TooManyRowsMessage(int limit) => string.Create(CultureInfo.InvariantCulture,
        $"A file may hold at most {limit:N0} rows; this one has more. Nothing was stored: split it into smaller files.");

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
            var published = new List<(string Species, double Confidence, bool OutOfDistribution)>();
            var lines = csv.Lines().Select(line =>
            {
                if (line.Row is not { } row)
                {
                    return new ScoredLine(null, null, line.Error);
                }
                var result = predictions.Score(model, row.Measurements, Channels.Batch);
                published.Add((result.Species, result.Confidence, result.OutOfDistribution.Flagged));
                return new ScoredLine(row, result, null);
            });
            var stored = await store.SaveAsync(batch, lines, new BatchLimits(options.MaxRows, options.MaxStoredRejections), cancellationToken);
            if (stored is null)
            {
                return new BatchOutcome.TooManyRows(options.MaxRows);
            }

            metrics.RecordBatchRows(stored.Accepted, stored.Rejected);
            var outOfDistribution = 0;
            foreach (var (species, confidence, flagged) in published)
            {
                predictions.Published(species, confidence, flagged, Channels.Batch, model.Version);
                outOfDistribution += flagged ? 1 : 0;
            }
            predictions.BatchStored(batch.Id);
            logger.LogInformation("Batch {BatchId} stored: {Accepted} rows accepted ({OutOfDistribution} unlike the training data), {Rejected} rejected",
                batch.Id, stored.Accepted, outOfDistribution, stored.Rejected);
            return new BatchOutcome.Stored(new BatchReport(batch.Id, stored.Accepted, stored.Rejected, stored.StoredRejections, stored.RejectionsOmitted, outOfDistribution));
        }
    }

    public Task<BatchSummary?> FindAsync(Guid id, CancellationToken cancellationToken) => store.FindAsync(id, cancellationToken);

    /// <summary>The report of batch <paramref name="id"/> (null when there is no such batch): the one query behind the page and the API.</summary>
    public async Task<BatchResultsReport?> ReportAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(id, cancellationToken) is not { } batch)
        {
            return null;
        }
        var rejections = await store.RejectionsAsync(id, options.MaxStoredRejections, cancellationToken);
        var labelIndex = BatchResultsReport.LabelColumnIndex(batch.ExtraColumns);
        var tallies = await stored.TallyBatchAsync(id, labelIndex, cancellationToken);
        var (species, accuracy) = BatchResultsReport.Summarize(tallies, labelIndex is { } i ? batch.ExtraColumns[i] : null);
        var outOfDistribution = tallies.Sum(t => t.OutOfDistribution);
        var firstRows = new List<StoredBatchPrediction>(BatchResultsReport.FirstRowsShown);
        await stored.WriteBatchAsync(id, row =>
        {
            firstRows.Add(row);
            return Task.CompletedTask;
        }, cancellationToken, BatchResultsReport.FirstRowsShown);
        return new BatchResultsReport(batch, rejections, species, accuracy, outOfDistribution, firstRows);
    }

    /// <summary>
    /// Writes the results CSV of <paramref name="batch"/> to <paramref name="output"/> as its rows come from the
    /// database: the line, the extra columns as uploaded (formula-neutralised), the measurements and the prediction.
    /// </summary>
    public async Task WriteResultsAsync(BatchSummary batch, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await using var writer = new StreamWriter(output, leaveOpen: true);
        await using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        foreach (var header in ResultColumns(batch.ExtraColumns))
        {
            csv.WriteField(BatchCsv.NeutralizeFormula(header));
        }
        await csv.NextRecordAsync();
        await stored.WriteBatchAsync(batch.Id, async row =>
        {
            var p = row.Prediction;
            csv.WriteField(row.Line);
            foreach (var value in row.ExtraValues)
            {
                csv.WriteField(BatchCsv.NeutralizeFormula(value));
            }
            var measurements = p.Measurements;
            foreach (var measurement in Measurement.All)
            {
                csv.WriteField(measurement.Read(measurements));
            }
            csv.WriteField(p.Species);
            csv.WriteField(p.Confidence.ToString("0.0000", CultureInfo.InvariantCulture));
            foreach (var species in Species.All)
            {
                csv.WriteField(p.Probabilities[species].ToString("0.0000", CultureInfo.InvariantCulture));
            }
            csv.WriteField(p.Id);
            csv.WriteField(p.ModelVersion);
            // Empty for rows stored before predictions were judged; the features by their CSV names, space-separated.
            var ood = p.OutOfDistribution;
            csv.WriteField(ood is null ? "" : ood.Flagged ? "true" : "false");
            csv.WriteField(ood?.Score.ToString("0.000", CultureInfo.InvariantCulture) ?? "");
            csv.WriteField(ood is null ? "" : string.Join(' ', ood.Features.Select(f => Measurement.Named(f)!.CsvName)));
            await csv.NextRecordAsync();
        }, cancellationToken);
        await csv.FlushAsync();
    }

    // The results CSV's own columns after the extra ones: the measurements, then the prediction.
    private static readonly string[] PredictionColumns =
    [
        .. Measurement.All.Select(m => m.CsvName), "species", "confidence", .. Species.All.Select(Species.ProbabilityName), "prediction_id", "model_version",
        "out_of_distribution", "ood_score", "ood_features",
    ];

    /// <summary>
    /// The header of the results CSV: the line, the upload's extra columns under their own names, the measurements and
    /// the prediction. A column of the prediction whose name the upload already uses (its own <c>species</c>, say)
    /// becomes <c>predicted_&lt;name&gt;</c>, so no two columns share a name and the user's values keep theirs.
    /// </summary>
    public static IReadOnlyList<string> ResultColumns(IReadOnlyList<string> extraColumns)
    {
        ArgumentNullException.ThrowIfNull(extraColumns);
        var taken = new HashSet<string>(extraColumns, StringComparer.OrdinalIgnoreCase);
        string Ours(string name) => taken.Contains(name) ? "predicted_" + name : name;
        return [Ours("line"), .. extraColumns, .. PredictionColumns.Select(Ours)];
    }

    private static string SafeFileName(string? fileName)
    {
        var name = Path.GetFileName(fileName ?? string.Empty).Trim();
        name = new string(name.Where(c => !char.IsControl(c)).ToArray());
        return name.Length == 0 ? "upload.csv" : name[..Math.Min(name.Length, 200)];
    }
}

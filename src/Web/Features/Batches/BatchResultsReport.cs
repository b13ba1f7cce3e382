using Vigie.Web.Classifier;
using Vigie.Web.Features.Predictions;

namespace Vigie.Web.Features.Batches;

/// <summary>How many rows of a batch were predicted as one species.</summary>
public sealed record BatchSpeciesCount(string Species, int Rows);

/// <summary>
/// The batch's predictions against the species the upload itself named in its <see cref="Column"/> column: of the
/// <see cref="LabelledRows"/> rows whose value there is a species, <see cref="Correct"/> were predicted as that species.
/// </summary>
public sealed record BatchAccuracy(string Column, int LabelledRows, int Correct)
{
    public double Accuracy => (double)Correct / LabelledRows;
}

/// <summary>
/// What a stored batch's report shows, for the page and the API alike: the batch, its rejections (the first, stored,
/// with what each line held), the predictions by species, the accuracy against the upload's own species column when
/// it has one, the accepted rows unlike the model's training data, and the first predicted rows.
/// </summary>
public sealed record BatchResultsReport(
    BatchSummary Batch,
    IReadOnlyList<RowError> Rejections,
    IReadOnlyList<BatchSpeciesCount> Species,
    BatchAccuracy? Accuracy,
    int OutOfDistribution,
    IReadOnlyList<StoredBatchPrediction> FirstRows)
{
    /// <summary>How many predicted rows the report lists; the results CSV has them all.</summary>
    public const int FirstRowsShown = 10;

    /// <summary>The extra column whose values are read as the true species: the name the results CSV gives the prediction.</summary>
    public const string LabelColumn = "species";

    /// <summary>Rejected lines counted but not stored (beyond <c>Batch:MaxStoredRejections</c>).</summary>
    public int RejectionsOmitted => Batch.RejectedRows - Rejections.Count;

    /// <summary>The position of the upload's own species column among its extra columns, if it has one.</summary>
    public static int? LabelColumnIndex(IReadOnlyList<string> extraColumns)
    {
        ArgumentNullException.ThrowIfNull(extraColumns);
        for (var i = 0; i < extraColumns.Count; i++)
        {
            if (string.Equals(extraColumns[i], LabelColumn, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return null;
    }

    /// <summary>The species counts (every species, in <see cref="Classifier.Species.All"/> order) and the accuracy, from the tallies.</summary>
    public static (IReadOnlyList<BatchSpeciesCount> Species, BatchAccuracy? Accuracy) Summarize(IReadOnlyList<BatchTally> tallies, string? labelColumn)
    {
        ArgumentNullException.ThrowIfNull(tallies);
        var species = Classifier.Species.All
            .Select(s => new BatchSpeciesCount(s, tallies.Where(t => t.Predicted == s).Sum(t => t.Rows)))
            .ToList();
        var labelled = tallies.Where(t => t.Label is not null).Sum(t => t.Rows);
        var correct = tallies.Where(t => t.Label == t.Predicted).Sum(t => t.Rows);
        return (species, labelColumn is not null && labelled > 0 ? new BatchAccuracy(labelColumn, labelled, correct) : null);
    }
}

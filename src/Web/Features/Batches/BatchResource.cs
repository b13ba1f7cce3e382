namespace Vigie.Web.Features.Batches;

/// <summary>Where a batch's other representations live: the results CSV and the report page.</summary>
public sealed record BatchLinks(string Results, string Page);

/// <summary>
/// <c>GET /api/batches/{id}</c>, the resource an upload's <c>Location</c> names: the counts, the stored rejections (the
/// first in file order; <see cref="RejectionsOmitted"/> counts the others), the report page's summary (rows per
/// predicted species, the accuracy against the upload's own species column when it has one, the rows unlike the
/// training data) and links to the results and the report page.
/// </summary>
public sealed record BatchResource(
    Guid Id, string FileName, string ModelVersion, DateTimeOffset CreatedAt, int Accepted, int Rejected,
    IReadOnlyList<RowError> Rejections, int RejectionsOmitted, IReadOnlyList<BatchSpeciesCount> Species, BatchAccuracy? Accuracy,
    int OutOfDistribution, BatchLinks Links)
{
    /// <summary>The URL of the resource of batch <paramref name="id"/>.</summary>
    public static string Location(Guid id) => $"/api/batches/{id}";

    /// <summary>The batch's report (the one the page shows), or null when there is no batch <paramref name="id"/>.</summary>
    public static async Task<BatchResource?> FindAsync(Guid id, BatchService batches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (await batches.ReportAsync(id, cancellationToken) is not { } report)
        {
            return null;
        }
        var batch = report.Batch;
        return new BatchResource(batch.Id, batch.FileName, batch.ModelVersion, batch.CreatedAt, batch.AcceptedRows, batch.RejectedRows,
            report.Rejections, report.RejectionsOmitted, report.Species, report.Accuracy, report.OutOfDistribution,
            new BatchLinks($"{Location(id)}/results.csv", $"/Batch?id={id}"));
    }
}

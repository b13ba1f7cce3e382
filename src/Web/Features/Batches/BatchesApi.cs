using Vigie.Web.Infrastructure.Http;
using Vigie.Web.Infrastructure.Idempotency;
using Microsoft.AspNetCore.Http.HttpResults;
using Vigie.Web.Infrastructure.Security;

namespace Vigie.Web.Features.Batches;

/// <summary>
/// The JSON API of batch uploads: endpoints map HTTP to <see cref="BatchService"/> and back. The upload keeps its URL
/// under <c>/api/predictions</c> and its OpenAPI tag (a batch is many predictions), but the slice is Batches'.
/// </summary>
public static class BatchesApi
{
    public static IEndpointRouteBuilder MapBatchesApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/predictions/batch", UploadAsync).WithTags("Predictions").RequireRateLimiting(ClientRateLimits.Uploads).WithName("UploadBatch").DisableAntiforgery()
            .WithSummary("Predicts every row of a CSV upload (multipart field 'file'); 201 with the Location of the batch.").AcceptsIdempotencyKey();
        app.MapGet("/api/batches/{id:guid}", GetAsync).WithTags("Predictions").WithName("GetBatch")
            .WithSummary("A stored batch: counts, rejected lines, links to its results CSV and its report page.").ProducesProblems(StatusCodes.Status404NotFound);
        app.MapGet("/api/batches/{id:guid}/results.csv", ResultsAsync).WithTags("Predictions").WithName("BatchResults")
            .WithSummary("The batch's rows with their predictions, as CSV.").Produces<string>(StatusCodes.Status200OK, "text/csv").ProducesProblems(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Results<Created<BatchReport>, ValidationProblem, ProblemHttpResult>> UploadAsync(IFormFile? file, BatchService batches, CancellationToken cancellationToken)
    {
        if (file is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = ["A CSV file is required in the multipart field 'file'."] });
        }
        await using var content = file.OpenReadStream();
        return await batches.UploadAsync(file.FileName, file.Length, content, cancellationToken) switch
        {
            BatchOutcome.Stored stored => TypedResults.Created(BatchResource.Location(stored.Report.BatchId), stored.Report),
            BatchOutcome.TooLarge tooLarge => TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Upload too large",
                detail: $"Uploads are limited to {tooLarge.Limit:N0} bytes."),
            BatchOutcome.TooManyRows tooMany => TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too many rows",
                detail: BatchService.TooManyRowsMessage(tooMany.Limit)),
            BatchOutcome.InvalidFile invalid => TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid CSV file", detail: invalid.Message),
            var other => throw new InvalidOperationException($"Unexpected outcome {other}"),
        };
    }

    private static async Task<Results<Ok<BatchResource>, ProblemHttpResult>> GetAsync(Guid id, BatchService batches, CancellationToken cancellationToken) =>
        await BatchResource.FindAsync(id, batches, cancellationToken) is { } batch ? TypedResults.Ok(batch) : BatchNotFound(id);

    /// <summary>The results stream to the client as they are read: a 404 is only possible before the first byte.</summary>
    private static async Task<IResult> ResultsAsync(Guid id, BatchService batches, CancellationToken cancellationToken) =>
        await batches.FindAsync(id, cancellationToken) is { } batch
            ? TypedResults.Stream(body => batches.WriteResultsAsync(batch, body, cancellationToken), "text/csv; charset=utf-8", $"vigie-batch-{id}.csv")
            : BatchNotFound(id);

    private static ProblemHttpResult BatchNotFound(Guid id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no batch {id}.");
}

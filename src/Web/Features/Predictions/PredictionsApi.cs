using Vigie.Web.Infrastructure.Http;
using Vigie.Web.Infrastructure.Idempotency;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Vigie.Web.Infrastructure.Security;

namespace Vigie.Web.Features.Predictions;

/// <summary>Body of <c>POST /api/predictions/{id}/feedback</c>.</summary>
public sealed record FeedbackRequest(string? ActualSpecies);

/// <summary>The JSON API of single predictions: endpoints map HTTP to <see cref="PredictionService"/> and back (batch uploads: Batches' own API).</summary>
public static class PredictionsApi
{
    /// <summary>
    /// Largest JSON body of a prediction or a feedback (64 KB; either is a few hundred bytes). Without it the batch upload
    /// limit that Kestrel applies to every request holds: a 5 MB body of unknown properties cost the JSON reader 24 MB.
    /// </summary>
    public const int MaxJsonBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapPredictionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/predictions").WithTags("Predictions");
        api.MapPost("", CreateAsync).RequireRateLimiting(ClientRateLimits.Writes).WithName("CreatePrediction").WithSummary("Predicts the species of one penguin and stores the prediction.").AcceptsIdempotencyKey()
            .WithMetadata(new RequestSizeLimitAttribute(MaxJsonBodyBytes));
        api.MapGet("", ListAsync).WithName("ListPredictions").WithSummary("Stored predictions, newest first, keyset-paged by nextCursor.");
        api.MapGet("/{id:long}", GetAsync).WithName("GetPrediction").WithSummary("One stored prediction.").ProducesProblems(StatusCodes.Status404NotFound);
        api.MapPost("/{id:long}/feedback", FeedbackAsync).RequireRateLimiting(ClientRateLimits.Writes).WithName("RecordFeedback").WithSummary("Records the true species of a stored prediction (once).").AcceptsIdempotencyKey()
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict)
            .WithMetadata(new RequestSizeLimitAttribute(MaxJsonBodyBytes));
        return app;
    }

    private static async Task<Results<Created<Prediction>, ValidationProblem>> CreateAsync(PredictionRequest request, PredictionService service, CancellationToken cancellationToken) =>
        await service.PredictAsync(request, Channels.Api, cancellationToken) switch
        {
            PredictionOutcome.Created created => TypedResults.Created($"/api/predictions/{created.Prediction.Id}", created.Prediction),
            PredictionOutcome.Invalid invalid => TypedResults.ValidationProblem(invalid.Errors),
            var other => throw new InvalidOperationException($"Unexpected outcome {other}"),
        };

    private static async Task<Results<Ok<PredictionPage>, ValidationProblem>> ListAsync(string? limit, string? cursor, string? species, string? channel, PredictionService service, CancellationToken cancellationToken)
    {
        var (query, errors) = PredictionQuery.Parse(limit, cursor, species, channel);
        return query is null ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(await service.ListAsync(query, cancellationToken));
    }

    private static async Task<Results<Ok<Prediction>, ProblemHttpResult>> GetAsync(long id, PredictionService service, CancellationToken cancellationToken) =>
        await service.FindAsync(id, cancellationToken) is { } prediction ? TypedResults.Ok(prediction) : NotFound(id);

    private static async Task<Results<Ok<Prediction>, ValidationProblem, ProblemHttpResult>> FeedbackAsync(long id, FeedbackRequest request, PredictionService service, CancellationToken cancellationToken) =>
        await service.RecordFeedbackAsync(id, request.ActualSpecies, cancellationToken) switch
        {
            FeedbackOutcome.Recorded recorded => TypedResults.Ok(recorded.Prediction),
            FeedbackOutcome.Invalid invalid => TypedResults.ValidationProblem(invalid.Errors),
            FeedbackOutcome.NotFound => NotFound(id),
            FeedbackOutcome.AlreadyRecorded => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict, title: "Feedback already recorded",
                detail: $"Prediction {id} already has feedback; it is recorded once."),
            var other => throw new InvalidOperationException($"Unexpected outcome {other}"),
        };

    private static ProblemHttpResult NotFound(long id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no prediction {id}.");
}

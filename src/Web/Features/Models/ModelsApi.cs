using Vigie.Web.Infrastructure.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Vigie.Web.Infrastructure.Security;

namespace Vigie.Web.Features.Models;

/// <summary>
/// The model lifecycle API. Reads are open; every change (train, shadow, promote, rollback) needs
/// <c>Authorization: Bearer &lt;admin token&gt;</c> and answers 401 problem+json without it.
/// </summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/models").WithTags("Models");
        api.MapGet("", ListAsync).WithName("ListModels").WithSummary("Every model version, newest first, with lineage, held-out metrics, comparison, live and shadow results.");
        api.MapGet("/{version}", GetAsync).WithName("GetModelVersion").WithSummary("One model version with its lineage and metrics.").ProducesProblems(StatusCodes.Status404NotFound);
        api.MapGet("/training", LatestRunAsync).WithName("GetLatestTrainingRun").WithSummary("The newest retraining run and its progress.").ProducesProblems(StatusCodes.Status404NotFound);
        api.MapGet("/training/{id:long}", RunAsync).WithName("GetTrainingRun").WithSummary("One retraining run and its progress.").ProducesProblems(StatusCodes.Status404NotFound);

        var admin = api.MapGroup("").AddEndpointFilter<RequireAdminToken>().RequireRateLimiting(ClientRateLimits.Writes)
            .RequireBearerToken(AdminToken.Scheme, "The admin token (secrets/admin_token) that model changes need.");
        admin.MapPost("/train", TrainAsync).WithName("TrainModel")
            .WithSummary("Queues a retraining run on the base data plus feedback (202); 409 while one is queued or running.")
            .ProducesProblems(StatusCodes.Status409Conflict);
        admin.MapPost("/{version}/shadow", ShadowAsync).WithName("ShadowModel")
            .WithSummary("Puts a candidate in shadow: every prediction is also scored by it, without changing the answer.")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        admin.MapDelete("/{version}/shadow", StopShadowAsync).WithName("StopShadowModel").WithSummary("Stops shadowing a candidate.")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        admin.MapPost("/{version}/promote", PromoteAsync).WithName("PromoteModel")
            .WithSummary("Makes a candidate the active version on every instance.")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        admin.MapPost("/rollback", RollbackAsync).WithName("RollbackModel")
            .WithSummary("Returns every instance to the version that was active before the current one.")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Ok<ModelRegistryView>> ListAsync(ModelLifecycle models, CancellationToken cancellationToken) =>
        TypedResults.Ok(await models.ListAsync(cancellationToken));

    private static async Task<Results<Ok<ModelVersionView>, ProblemHttpResult>> GetAsync(string version, ModelLifecycle models, CancellationToken cancellationToken) =>
        await models.FindAsync(version, cancellationToken) is { } found ? TypedResults.Ok(found) : VersionNotFound(version);

    private static async Task<Results<Ok<TrainingRunView>, ProblemHttpResult>> LatestRunAsync(ModelLifecycle models, CancellationToken cancellationToken) =>
        await models.LatestRunAsync(cancellationToken) is { } run
            ? TypedResults.Ok(run)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "No training run has been requested yet.");

    private static async Task<Results<Ok<TrainingRunView>, ProblemHttpResult>> RunAsync(long id, ModelLifecycle models, CancellationToken cancellationToken) =>
        await models.FindRunAsync(id, cancellationToken) is { } run
            ? TypedResults.Ok(run)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no training run {id}.");

    private static async Task<Results<Accepted<TrainingRunView>, ProblemHttpResult>> TrainAsync(ModelLifecycle models, CancellationToken cancellationToken) =>
        await models.TrainAsync(cancellationToken) switch
        {
            TrainingRequestOutcome.Accepted accepted => TypedResults.Accepted($"/api/models/training/{accepted.Run.Id}", accepted.Run),
            TrainingRequestOutcome.AlreadyRunning running => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict, title: "Training already running",
                detail: running.Run is { } run
                    ? $"Training run {run.Id} is {run.Status} ({run.Stage}); one run at a time. Follow it at /api/models/training/{run.Id}."
                    : "A training run is already queued or running; one run at a time.",
                extensions: running.Run is { } r ? new Dictionary<string, object?> { ["runId"] = r.Id } : null),
            var other => throw new InvalidOperationException($"Unexpected outcome {other}"),
        };

    private static Task<Results<Ok<ModelChangeResult>, ProblemHttpResult>> ShadowAsync(string version, ModelLifecycle models, CancellationToken cancellationToken) =>
        ChangeAsync("shadow", models.ShadowAsync(version, cancellationToken), models);

    private static Task<Results<Ok<ModelChangeResult>, ProblemHttpResult>> StopShadowAsync(string version, ModelLifecycle models, CancellationToken cancellationToken) =>
        ChangeAsync("shadow_stopped", models.StopShadowAsync(version, cancellationToken), models);

    private static Task<Results<Ok<ModelChangeResult>, ProblemHttpResult>> PromoteAsync(string version, ModelLifecycle models, CancellationToken cancellationToken) =>
        ChangeAsync("promoted", models.PromoteAsync(version, cancellationToken), models);

    private static Task<Results<Ok<ModelChangeResult>, ProblemHttpResult>> RollbackAsync(ModelLifecycle models, CancellationToken cancellationToken) =>
        ChangeAsync("rolled_back", models.RollbackAsync(cancellationToken), models);

    private static async Task<Results<Ok<ModelChangeResult>, ProblemHttpResult>> ChangeAsync(string action, Task<RegistryChange> change, ModelLifecycle models) =>
        await change switch
        {
            RegistryChange.Changed changed => TypedResults.Ok(new ModelChangeResult(action, changed.Version, changed.Replaced, models.ServedVersion ?? changed.Version)),
            RegistryChange.NotFound notFound => VersionNotFound(notFound.Version),
            RegistryChange.Conflict conflict => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: conflict.Title, detail: conflict.Detail),
            var other => throw new InvalidOperationException($"Unexpected outcome {other}"),
        };

    private static ProblemHttpResult VersionNotFound(string version) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no model version '{version}' in the registry.");
}

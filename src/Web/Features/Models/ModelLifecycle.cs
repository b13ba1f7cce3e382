using System.Text.RegularExpressions;

namespace Vigie.Web.Features.Models;

/// <summary>What a registry change did: <see cref="Version"/> is now active (or in shadow); <see cref="Replaced"/> is the version it took over from.</summary>
public sealed record ModelChangeResult(string Action, string Version, string? Replaced, string ServedVersion);

/// <summary>
/// The one service behind the model API and the Models page: lists the registry, queues retraining, and changes the
/// registry (shadow, promote, rollback). After a change it applies the new state to this instance before answering,
/// so the caller's next prediction here is already made by the new version; other instances follow within a second
/// through NOTIFY (or the poll).
/// </summary>
public sealed partial class ModelLifecycle(
    ModelRegistryStore store,
    ModelRegistrySync sync,
    ModelTraining training,
    ModelMetricsRefresher refresher,
    Vigie.Web.Classifier.ModelHolder holder,
    ILogger<ModelLifecycle> logger)
{
    public Task<ModelRegistryView> ListAsync(CancellationToken cancellationToken) => store.ListAsync(cancellationToken);

    public async Task<ModelVersionView?> FindAsync(string version, CancellationToken cancellationToken) =>
        IsVersion(version) ? await store.FindAsync(version, cancellationToken) : null;

    public Task<TrainingRequestOutcome> TrainAsync(CancellationToken cancellationToken) => training.RequestAsync(cancellationToken);

    public Task<TrainingRunView?> LatestRunAsync(CancellationToken cancellationToken) => training.LatestAsync(cancellationToken);

    public Task<TrainingRunView?> FindRunAsync(long id, CancellationToken cancellationToken) => training.FindAsync(id, cancellationToken);

    public Task<RegistryChange> PromoteAsync(string version, CancellationToken cancellationToken) =>
        IsVersion(version) ? ServableThenAsync(version, "promoted", () => store.PromoteAsync(version, cancellationToken), cancellationToken) : NotFound(version);

    public Task<RegistryChange> RollbackAsync(CancellationToken cancellationToken) =>
        ApplyAsync("rolled back", store.RollbackAsync(cancellationToken), cancellationToken);

    /// <summary>Where a rollback would go now; null when there is nothing to roll back to (so nobody is offered one).</summary>
    public Task<string?> RollbackTargetAsync(CancellationToken cancellationToken) => store.RollbackTargetAsync(cancellationToken);

    public Task<RegistryChange> ShadowAsync(string version, CancellationToken cancellationToken) =>
        IsVersion(version) ? ServableThenAsync(version, "shadowed", () => store.StartShadowAsync(version, cancellationToken), cancellationToken) : NotFound(version);

    public Task<RegistryChange> StopShadowAsync(string version, CancellationToken cancellationToken) =>
        IsVersion(version) ? ApplyAsync("shadow stopped", store.StopShadowAsync(version, cancellationToken), cancellationToken) : NotFound(version);

    /// <summary>The version this instance serves right now (null while none is loaded).</summary>
    public string? ServedVersion => holder.Active?.Version;

    // A version no instance could load must not become active or shadowed: the registry would then name a model that
    // every instance fails to switch to. It is loaded here first, and the registry left as it is when that fails.
    private async Task<RegistryChange> ServableThenAsync(string version, string action, Func<Task<RegistryChange>> change, CancellationToken cancellationToken) =>
        await sync.CannotServeAsync(version, cancellationToken) is { } reason
            ? new RegistryChange.Conflict("Model cannot be served", $"Model {version} was not {action}: {reason} The registry is unchanged.")
            : await ApplyAsync(action, change(), cancellationToken);

    private async Task<RegistryChange> ApplyAsync(string action, Task<RegistryChange> change, CancellationToken cancellationToken)
    {
        var result = await change;
        if (result is RegistryChange.Changed changed)
        {
            logger.LogInformation("Model registry: {Version} {Action} (replacing {Replaced})", changed.Version, action, changed.Replaced ?? "none");
            await sync.ReconcileAsync(cancellationToken);
            try
            {
                await refresher.RefreshAsync(cancellationToken);
            }
            catch (Vigie.Web.Infrastructure.Database.DatabaseUnavailableException)
            {
                // The periodic refresh catches up.
            }
        }
        return result;
    }

    private static Task<RegistryChange> NotFound(string version) => Task.FromResult<RegistryChange>(new RegistryChange.NotFound(version));

    private static bool IsVersion(string? version) => version is not null && VersionPattern().IsMatch(version);

    [GeneratedRegex("^[0-9a-z-]{1,64}$")]
    private static partial Regex VersionPattern();
}

using Npgsql;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Models;

/// <summary>
/// Keeps this instance serving the registry's active version (and shadowing its shadow candidate).
/// <para>
/// Start-up: the app listens (and <c>/health/live</c> answers) before PostgreSQL does. Once the migrations have run,
/// this service registers the base model if the registry lacks it — trained from the vendored data, or loaded from
/// <c>Model:Path</c>; under the registry's advisory lock, so instances starting together register it once — then loads
/// the active version (on a database that has a registry, it was loaded while the migrations ran and is now only
/// confirmed). Until then predictions and <c>/health/ready</c> answer 503: nothing is served by a model the
/// registry has not confirmed.
/// </para>
/// <para>
/// Afterwards: a dedicated connection LISTENs on <c>vigie_model_registry</c>; a promotion, rollback or shadow change
/// anywhere is NOTIFYed at commit and applied here within a second. The registry is also re-read every
/// <c>Models:PollIntervalSeconds</c>, the fallback for a lost notification or a broken listening connection. A new
/// version is loaded completely (bytes checked against their SHA-256, deserialized, scoring engines created and
/// warmed) before one atomic swap in <see cref="ModelHolder"/>.
/// </para>
/// </summary>
public sealed class ModelRegistrySync(
    NpgsqlDataSource dataSource,
    ModelRegistryStore store,
    ModelHolder holder,
    DatabaseStatus database,
    ModelOptions modelOptions,
    PenguinDataSet data,
    ModelLifecycleOptions options,
    HonestyOptions honesty,
    VigieMetrics metrics,
    BackgroundLoops loops,
    ILogger<ModelRegistrySync> logger) : BackgroundService
{
    // A typical Adelie: scoring it once warms a freshly loaded model's pipeline before it serves.
    private static readonly Measurements WarmUpInput = new(39.1, 18.7, 181, 3750);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private ServingModel? _base;
    private ServingModel? _prepared;
    private bool _baseEnsured;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.PollIntervalSeconds);
        var preload = PreloadActiveAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await database.WhenMigrated.WaitAsync(stoppingToken);
                await preload;
                await EnsureBaseAsync(stoppingToken);
                await ReconcileAsync(stoppingToken);
                await ListenAsync(interval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Never let the service die: an outage or a bad version is logged and the registry polled again.
                if (ex is DatabaseUnavailableException || VigieDatabase.IsUnavailable(ex))
                {
                    logger.LogWarning("Model registry unreachable ({Reason}); polling every {Seconds:F0} s until it answers", ex.Message, interval.TotalSeconds);
                }
                else
                {
                    loops.Failed("model_registry_sync", ex, logger);
                }
            }
            await Task.Delay(interval, stoppingToken);
        }
    }

    /// <summary>
    /// Reads the registry's active and shadow versions and, when they differ from what this instance holds, loads and
    /// swaps them in. Serialized: called by the background loop and by the API right after a change it made.
    /// </summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var head = await store.HeadAsync(cancellationToken);
            if (head.Active is { } active && holder.Active?.Version != active.Version)
            {
                var next = Reuse(active.Version) ?? await LoadAsync(active, cancellationToken);
                var previous = holder.ExchangeActive(next);
                metrics.SwitchModel(previous?.Version, previous?.Model.Trainer, next.Version, next.Model.Trainer, next.Model.HeldOutAccuracy);
                if (previous is null)
                {
                    logger.LogInformation("Serving model {ModelVersion} from the registry (held-out accuracy {Accuracy:F3})", next.Version, next.Model.HeldOutAccuracy);
                }
                else
                {
                    logger.LogInformation("Switched model from {PreviousVersion} to {ModelVersion}", previous.Version, next.Version);
                }
            }
            if (head.Shadow?.Version != holder.Shadow?.Version)
            {
                var next = head.Shadow is { } shadow ? Reuse(shadow.Version) ?? await LoadAsync(shadow, cancellationToken) : null;
                var previous = holder.ExchangeShadow(next);
                logger.LogInformation("Shadow model {ShadowVersion} (was {PreviousVersion})", next?.Version ?? "none", previous?.Version ?? "none");
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ListenAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            connection.Notification += (_, e) => logger.LogDebug("Model registry change: {Payload}", e.Payload);
            await using (var listen = new NpgsqlCommand($"LISTEN {ModelRegistryStore.Channel}", connection))
            {
                await listen.ExecuteNonQueryAsync(cancellationToken);
            }
            logger.LogInformation("Listening for model registry changes on {Channel}", ModelRegistryStore.Channel);
            // Anything committed before LISTEN took effect.
            await ReconcileAsync(cancellationToken);
            while (true)
            {
                // Returns on a notification or after the interval: either way the registry is read again.
                await connection.WaitAsync(interval, cancellationToken);
                await ReconcileAsync(cancellationToken);
            }
        }
        finally
        {
            // Pooled connections are not reset on return (NoResetOnClose): leave none subscribed.
            if (connection.State == System.Data.ConnectionState.Open)
            {
                try
                {
                    await using var unlisten = new NpgsqlCommand("UNLISTEN *", connection);
                    await unlisten.ExecuteNonQueryAsync(CancellationToken.None);
                }
                catch (NpgsqlException)
                {
                    // The connection is broken; the pool discards it.
                }
            }
        }
    }

    /// <summary>
    /// Loads the version the registry names active while the migrations run, so that a start on an existing database
    /// checks its schema and deserializes and warms its model at once instead of one after the other (on the path to
    /// <c>/health/ready</c>, the two took about as long). Nothing is served from it: it is kept as a prepared version,
    /// which <see cref="ReconcileAsync"/> takes only if the registry, read again once the schema is migrated, still names
    /// it. A database without a registry yet (a first start) or one that does not answer leaves the model to be loaded
    /// after the migrations, as then.
    /// </summary>
    private async Task PreloadActiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await store.ExistsAsync(cancellationToken) && (await store.HeadAsync(cancellationToken)).Active is { } active)
            {
                Volatile.Write(ref _prepared, await LoadAsync(active, cancellationToken));
                logger.LogInformation("Loaded model {ModelVersion} alongside the migrations; it is served once the registry, read again after them, confirms it", active.Version);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A schema the migrations are about to change, an outage: nothing lost, the model is loaded after them.
            logger.LogDebug(ex, "Active model not loaded ahead of the migrations");
        }
    }

    // The base model is trained (or loaded from Model:Path) only when the registry lacks it.
    private async Task EnsureBaseAsync(CancellationToken cancellationToken)
    {
        if (_baseEnsured)
        {
            return;
        }
        var version = ModelLoader.BaseVersion(modelOptions, data);
        if (await store.NeedsBaseAsync(version, cancellationToken))
        {
            var (trained, bytes) = await Task.Run(() => ModelLoader.LoadOrTrainBase(modelOptions, data, logger), cancellationToken);
            var registration = FeedbackTraining.Base(trained, data, bytes);
            var status = await store.RegisterBaseAsync(registration, cancellationToken);
            if (status is not null)
            {
                logger.LogInformation("Registered base model {ModelVersion} as {Status}", version, status);
            }
            _base = Serve(trained with { HeldOutAccuracy = registration.HeldOut.Accuracy }, registration.Settings,
                registration.Lineage.TrainingRows + registration.Lineage.HeldOutRows, registration.Profile);
        }
        _baseEnsured = true;
    }

    /// <summary>
    /// Loads <paramref name="version"/> completely, as a promotion or a shadow would, before the registry is changed:
    /// returns why it cannot be served (bytes not matching their hash, a model that does not deserialize or score), or
    /// null when it can — and keeps it, so the switch that follows does not load it again. A version the registry
    /// lacks is left for the change itself to report.
    /// </summary>
    public async Task<string?> CannotServeAsync(string version, CancellationToken cancellationToken)
    {
        if (Reuse(version) is not null || await store.RegisteredAsync(version, cancellationToken) is not { } registered)
        {
            return null;
        }
        try
        {
            Volatile.Write(ref _prepared, await LoadAsync(registered, cancellationToken));
            return null;
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or DatabaseUnavailableException))
        {
            logger.LogError(ex, "Model {ModelVersion} cannot be served", version);
            return ex.Message;
        }
    }

    private ServingModel? Reuse(string version) =>
        holder.Shadow is { } shadow && shadow.Version == version ? shadow
        : holder.Active is { } active && active.Version == version ? active
        : _base is { } trained && trained.Version == version ? trained
        : Volatile.Read(ref _prepared) is { } prepared && prepared.Version == version ? prepared
        : null;

    private async Task<ServingModel> LoadAsync(RegisteredModel registered, CancellationToken cancellationToken)
    {
        var bytes = await store.ModelBytesAsync(registered.Version, cancellationToken)
            ?? throw new InvalidOperationException($"Model {registered.Version} is no longer in the registry.");
        if (ModelBytes.Sha256(bytes) != registered.ContentSha256)
        {
            throw new InvalidDataException($"Model {registered.Version}'s bytes do not match its content hash; it is not loaded.");
        }
        return await Task.Run(() => Serve(ModelBytes.Load(bytes, registered.Version, registered.Trainer, registered.HeldOutAccuracy),
            registered.Settings, registered.DataRows, ProfileOf(registered)), cancellationToken);
    }

    // Versions registered before profiles were kept (migration 0007) are judged against the base data's training
    // split: exact for the base version, the closest known for a version that also trained on feedback.
    private TrainingProfile ProfileOf(RegisteredModel registered) =>
        registered.TrainingProfile is { } json ? TrainingProfile.FromJson(json) : TrainingProfile.Of(SpeciesModelTrainer.SplitRows(data).Train);

    private ServingModel Serve(TrainedSpeciesModel trained, string settings, int dataRows, TrainingProfile profile)
    {
        var model = new SpeciesModel(trained, new OutOfDistributionCheck(profile, honesty.OutOfDistributionMargin));
        model.Predict(WarmUpInput);
        return new ServingModel(model, trained, settings, dataRows);
    }

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }
}

namespace Vigie.Web.Classifier;

/// <summary>A fully loaded model version as the app serves (or shadows) it: the scorer, the ML.NET transformer behind it, its registry facts.</summary>
/// <param name="Model">The thread-safe scorer; its <see cref="SpeciesModel.Version"/> is the version stored with each prediction it makes.</param>
/// <param name="Trained">The transformer, for evaluating this version against a candidate.</param>
/// <param name="Settings">Trainer settings as registered.</param>
/// <param name="DataRows">Rows of the data it was trained and evaluated on (training + held-out, base data + feedback).</param>
public sealed record ServingModel(SpeciesModel Model, TrainedSpeciesModel Trained, string Settings, int DataRows)
{
    public string Version => Model.Version;
}

/// <summary>
/// The model in service (and the candidate in shadow), swapped atomically when the registry changes. A request reads
/// <see cref="Active"/> once and scores, and records the version, with that one object: a switch never hands it a
/// half-loaded model or mixes two versions, and requests in flight finish on the model they started with.
/// </summary>
public sealed class ModelHolder
{
    private ServingModel? _active;
    private ServingModel? _shadow;

    /// <summary>The active version, or null until it has been loaded from the registry.</summary>
    public ServingModel? Active => Volatile.Read(ref _active);

    /// <summary>The candidate in shadow, if any.</summary>
    public ServingModel? Shadow => Volatile.Read(ref _shadow);

    /// <summary>The active version; throws <see cref="ModelUnavailableException"/> (answered 503) while none is loaded.</summary>
    public ServingModel RequireActive() => Active ?? throw new ModelUnavailableException();

    /// <summary>Installs a fully loaded model as the active one and returns the previous.</summary>
    internal ServingModel? ExchangeActive(ServingModel next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return Interlocked.Exchange(ref _active, next);
    }

    /// <summary>Installs (or, with null, removes) the shadow model and returns the previous.</summary>
    internal ServingModel? ExchangeShadow(ServingModel? next) => Interlocked.Exchange(ref _shadow, next);
}

/// <summary>No model is loaded yet: the registry in PostgreSQL has not been reached since start-up. Answered 503.</summary>
public sealed class ModelUnavailableException()
    : Exception("No model is loaded yet: the app loads the active version from the model registry once the database answers.");

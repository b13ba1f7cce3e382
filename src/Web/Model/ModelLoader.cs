using Microsoft.ML;

namespace Vigie.Web.Model;

/// <summary>Where the model comes from: <c>Model:Path</c> (a saved ML.NET model) and the vendored training data.</summary>
public sealed class ModelOptions
{
    /// <summary>Saved model to load; when empty the model is trained at start-up. When set but missing, the trained model is saved there.</summary>
    public string? Path { get; set; }

    /// <summary>The training data; relative paths are resolved against the app's base directory.</summary>
    public string DataPath { get; set; } = System.IO.Path.Combine("Data", "penguins.csv");
}

/// <summary>Loads the configured model file or trains one, and evaluates it on the held-out split.</summary>
public static class ModelLoader
{
    /// <summary>Produces the model in service and the training data (whose distribution the drift monitor compares against).</summary>
    public static (SpeciesModel Model, PenguinDataSet Data) LoadOrTrain(ModelOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var data = PenguinDataSet.Load(Resolve(options.DataPath));
        TrainedSpeciesModel trained;
        if (!string.IsNullOrWhiteSpace(options.Path) && File.Exists(options.Path))
        {
            var ml = new MLContext(SpeciesModelTrainer.Seed);
            var transformer = ml.Model.Load(options.Path, out var schema);
            var accuracy = SpeciesModelTrainer.HeldOutAccuracy(ml, transformer, data);
            var version = ReadVersion(options.Path);
            trained = new TrainedSpeciesModel(ml, transformer, schema, version, SpeciesModelTrainer.TrainerName, accuracy);
            logger.LogInformation("Loaded model {ModelVersion} from {ModelPath}; held-out accuracy {Accuracy:F3}", version, options.Path, accuracy);
        }
        else
        {
            trained = SpeciesModelTrainer.Train(data);
            logger.LogInformation("Trained model {ModelVersion} on {Rows} rows ({Dropped} dropped for missing values); held-out accuracy {Accuracy:F3}",
                trained.Version, data.Observations.Count, data.DroppedRows, trained.HeldOutAccuracy);
            if (!string.IsNullOrWhiteSpace(options.Path))
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(options.Path))!);
                trained.Context.Model.Save(trained.Transformer, trained.InputSchema, options.Path);
                File.WriteAllText(VersionFile(options.Path), trained.Version);
                logger.LogInformation("Saved model {ModelVersion} to {ModelPath}", trained.Version, options.Path);
            }
        }
        return (new SpeciesModel(trained), data);
    }

    // A model saved by Vigie keeps its version (data + settings hash) beside it; a foreign file is named by its own hash.
    private static string ReadVersion(string modelPath) =>
        File.Exists(VersionFile(modelPath))
            ? File.ReadAllText(VersionFile(modelPath)).Trim()
            : "file-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(modelPath)))[..12];

    private static string VersionFile(string modelPath) => modelPath + ".version";

    private static string Resolve(string path) =>
        System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Combine(AppContext.BaseDirectory, path);
}

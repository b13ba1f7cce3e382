using System.ComponentModel.DataAnnotations;
using Microsoft.ML;

namespace Vigie.Web.Classifier;

/// <summary>Where the model comes from: <c>Model:Path</c> (a saved ML.NET model) and the vendored training data.</summary>
public sealed class ModelOptions
{
    /// <summary>
    /// Saved model to use as the base model (registered as the first active version when the registry is empty); when
    /// empty the base model is trained. When set but missing, the trained base model is saved there.
    /// </summary>
    public string? Path { get; set; }

    /// <summary>The training data; relative paths are resolved against the app's base directory.</summary>
    [Required]
    public string DataPath { get; set; } = System.IO.Path.Combine("Data", "penguins.csv");
}

/// <summary>Loads the configured model file or trains one, and evaluates it on the held-out split.</summary>
public static class ModelLoader
{
    /// <summary>The vendored training data of <c>Model:DataPath</c>.</summary>
    public static PenguinDataSet LoadData(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return PenguinDataSet.Load(Resolve(options.DataPath));
    }

    /// <summary>
    /// The base model: the saved model of <c>Model:Path</c> when that file exists, otherwise trained on the base data
    /// (and saved to <c>Model:Path</c> when set). Returns it with its serialized bytes, as the registry stores them.
    /// </summary>
    public static (TrainedSpeciesModel Trained, byte[] Bytes) LoadOrTrainBase(ModelOptions options, PenguinDataSet data, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        if (!string.IsNullOrWhiteSpace(options.Path) && File.Exists(options.Path))
        {
            var bytes = File.ReadAllBytes(options.Path);
            var ml = new MLContext(SpeciesModelTrainer.Seed);
            using var stream = new MemoryStream(bytes, writable: false);
            var transformer = ml.Model.Load(stream, out var schema);
            var accuracy = SpeciesModelTrainer.HeldOutAccuracy(ml, transformer, data);
            var version = ReadVersion(options.Path);
            logger.LogInformation("Loaded model {ModelVersion} from {ModelPath}; held-out accuracy {Accuracy:F3}", version, options.Path, accuracy);
            return (new TrainedSpeciesModel(ml, transformer, schema, version, SpeciesModelTrainer.TrainerName, accuracy), bytes);
        }
        var trained = SpeciesModelTrainer.Train(data);
        logger.LogInformation("Trained model {ModelVersion} on {Rows} rows ({Dropped} dropped for missing values); held-out accuracy {Accuracy:F3}",
            trained.Version, data.Observations.Count, data.DroppedRows, trained.HeldOutAccuracy);
        var serialized = ModelBytes.Save(trained);
        if (!string.IsNullOrWhiteSpace(options.Path))
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(options.Path))!);
            File.WriteAllBytes(options.Path, serialized);
            File.WriteAllText(VersionFile(options.Path), trained.Version);
            logger.LogInformation("Saved model {ModelVersion} to {ModelPath}", trained.Version, options.Path);
        }
        return (trained, serialized);
    }

    /// <summary>The base model's version without training it: the saved model's (<c>Model:Path</c>) or the hash of data and settings.</summary>
    public static string BaseVersion(ModelOptions options, PenguinDataSet data)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        return !string.IsNullOrWhiteSpace(options.Path) && File.Exists(options.Path) ? ReadVersion(options.Path) : SpeciesModelTrainer.VersionOf(data);
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

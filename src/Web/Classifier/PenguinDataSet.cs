using System.Globalization;
using System.Security.Cryptography;
using CsvHelper;
using CsvHelper.Configuration;

namespace Vigie.Web.Classifier;

/// <summary>One complete observation of the Palmer Penguins data set.</summary>
public sealed record PenguinObservation(string Species, Measurements Measurements);

/// <summary>
/// The vendored Palmer Penguins data (CC0, <c>Data/penguins.csv</c>): rows with a missing measurement are dropped,
/// and the file's hash takes part in the model version so a data change is a new version.
/// </summary>
public sealed class PenguinDataSet
{
    private PenguinDataSet(IReadOnlyList<PenguinObservation> observations, string sha256)
    {
        Observations = observations;
        Sha256 = sha256;
    }

    /// <summary>Complete observations in file order.</summary>
    public IReadOnlyList<PenguinObservation> Observations { get; }

    /// <summary>Hex SHA-256 of the file's bytes.</summary>
    public string Sha256 { get; }

    /// <summary>Rows the file holds that were dropped for a missing measurement.</summary>
    public int DroppedRows { get; private init; }

    /// <summary>Reads the data set from <paramref name="path"/>; lines starting with '#' (the licence line) are comments.</summary>
    public static PenguinDataSet Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            AllowComments = true,
            Comment = '#',
            TrimOptions = TrimOptions.Trim,
        };
        using var reader = new StreamReader(new MemoryStream(bytes));
        using var csv = new CsvReader(reader, configuration);
        csv.Read();
        csv.ReadHeader();
        var observations = new List<PenguinObservation>();
        var dropped = 0;
        while (csv.Read())
        {
            var species = Classifier.Species.Normalize(csv.GetField("species"));
            var values = Measurement.All
                .Select(m => double.TryParse(csv.GetField(m.CsvName), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : (double?)null)
                .ToArray();
            if (species is null || values.Any(v => v is null))
            {
                dropped++;
                continue;
            }
            observations.Add(new PenguinObservation(species, Measurements.From(m => values[m.Index]!.Value)));
        }
        return new PenguinDataSet(observations, Convert.ToHexStringLower(SHA256.HashData(bytes))) { DroppedRows = dropped };
    }
}

using System.Globalization;
using System.Runtime.Intrinsics;

namespace Vigie.Web.Classifier;

/// <summary>
/// The body measurements of one penguin, already validated, in the order of <see cref="Measurement.All"/>. This file
/// is the one place that names each measurement: everything else (validation, the form, CSV, the database columns,
/// the model's feature columns, drift and the metrics' <c>feature</c> label) iterates the table.
/// </summary>
public readonly record struct Measurements(double BillLengthMm, double BillDepthMm, double FlipperLengthMm, double BodyMassG)
{
    /// <summary>The measurements from their values in table order (<paramref name="value"/> is asked once per measurement).</summary>
    public static Measurements From(Func<Measurement, double> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var all = Measurement.All;
        return new(value(all[0]), value(all[1]), value(all[2]), value(all[3]));
    }

    /// <summary>The four values in table order as one vector: the out-of-distribution check compares them all at once.</summary>
    public Vector256<double> AsVector() => Vector256.Create(BillLengthMm, BillDepthMm, FlipperLengthMm, BodyMassG);

    /// <summary>The value of the measurement at <paramref name="index"/> in <see cref="Measurement.All"/>, without a delegate call.</summary>
    public double ValueAt(int index) => index switch
    {
        0 => BillLengthMm,
        1 => BillDepthMm,
        2 => FlipperLengthMm,
        3 => BodyMassG,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "Measurements have four values."),
    };

    /// <summary>The measurements from their values in table order; allocates nothing (batch rows are read by the hundred thousand).</summary>
    public static Measurements From(ReadOnlySpan<double> values) => values.Length == Measurement.All.Count
        ? new(values[0], values[1], values[2], values[3])
        : throw new ArgumentException($"Expected {Measurement.All.Count} values, got {values.Length}.", nameof(values));
}

/// <summary>
/// One model input as users, files, the database and the model meet it: its JSON name, its CSV name (also its column
/// in <c>predictions</c>, in the training data and its <c>feature</c> label in the metrics), its label, unit, display
/// format and plausible physical range. The ranges are wide around what was ever measured on these birds (bill
/// 32–60 mm, flipper 172–231 mm, 2.7–6.3 kg), so any real penguin passes and typos (a mass in kg, a length in cm) do not.
/// </summary>
public sealed record Measurement(
    int Index, string JsonName, string CsvName, string Label, string ShortLabel, string Unit, double Min, double Max,
    string Format, string Example, Func<Measurements, double> Read)
{
    public static readonly Measurement BillLength = new(0, "billLengthMm", "bill_length_mm", "Bill length", "Bill length", "mm", 10, 100, "0.0", "39.1", m => m.BillLengthMm);
    public static readonly Measurement BillDepth = new(1, "billDepthMm", "bill_depth_mm", "Bill depth", "Bill depth", "mm", 5, 40, "0.0", "18.7", m => m.BillDepthMm);
    public static readonly Measurement FlipperLength = new(2, "flipperLengthMm", "flipper_length_mm", "Flipper length", "Flipper", "mm", 100, 300, "0", "181", m => m.FlipperLengthMm);
    public static readonly Measurement BodyMass = new(3, "bodyMassG", "body_mass_g", "Body mass", "Body mass", "g", 1000, 10000, "#,0", "3750", m => m.BodyMassG);

    /// <summary>Every measurement, in model (feature vector) order.</summary>
    public static readonly IReadOnlyList<Measurement> All = [BillLength, BillDepth, FlipperLength, BodyMass];

    /// <summary>The .NET property (request, form, ML.NET input column) named after <see cref="JsonName"/>: billLengthMm → BillLengthMm.</summary>
    public string PropertyName { get; } = char.ToUpperInvariant(JsonName[0]) + JsonName[1..];

    /// <summary>Its column in the <c>predictions</c> table and in the training data file.</summary>
    public string Column => CsvName;

    /// <summary>Its value of the <c>feature</c> label of <c>vigie_feature_drift_psi</c>.</summary>
    public string FeatureLabel => CsvName;

    /// <summary>The error for <paramref name="value"/>, or null when it is a plausible measurement.</summary>
    public string? Check(double? value) => value switch
    {
        null => $"{Label} is required.",
        { } v when !double.IsFinite(v) => $"{Label} must be a finite number.",
        { } v when v < Min || v > Max => string.Create(CultureInfo.InvariantCulture, $"{Label} must be between {Min} and {Max} {Unit}."),
        _ => null,
    };

    /// <summary>The value as the pages show it, with its unit.</summary>
    public string Display(double value) => value.ToString(Format, CultureInfo.InvariantCulture) + " " + Unit;

    /// <summary>The measurement whose <see cref="PropertyName"/> or <see cref="JsonName"/> is <paramref name="name"/>, or null.</summary>
    public static Measurement? Named(string name) =>
        All.FirstOrDefault(m => string.Equals(m.JsonName, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// ML.NET's view of one penguin: the features as floats and the species as label. ML.NET reads its schema from
/// properties, and stored models name these four input columns, so the properties stay (a vector column would not
/// load the models already in the registry); <see cref="Measurement.PropertyName"/> is each one's column name.
/// </summary>
public sealed class PenguinRow
{
    public float BillLengthMm { get; set; }
    public float BillDepthMm { get; set; }
    public float FlipperLengthMm { get; set; }
    public float BodyMassG { get; set; }

    /// <summary>The true species for training; empty when scoring.</summary>
    public string Species { get; set; } = string.Empty;

    /// <summary>The model's input columns, in feature order.</summary>
    public static IReadOnlyList<string> FeatureColumns { get; } = Measurement.All.Select(m => m.PropertyName).ToArray();

    /// <summary>Sets the features from <paramref name="m"/>; reused rows keep the hot path free of allocations.</summary>
    public void Set(Measurements m)
    {
        BillLengthMm = (float)m.BillLengthMm;
        BillDepthMm = (float)m.BillDepthMm;
        FlipperLengthMm = (float)m.FlipperLengthMm;
        BodyMassG = (float)m.BodyMassG;
    }

    /// <summary>The features as measurements (widened back from ML.NET's floats).</summary>
    public Measurements ToMeasurements() => new(BillLengthMm, BillDepthMm, FlipperLengthMm, BodyMassG);

    public static PenguinRow From(Measurements m, string species = "")
    {
        var row = new PenguinRow { Species = species };
        row.Set(m);
        return row;
    }
}

/// <summary>What the model answered for one set of measurements.</summary>
/// <param name="Species">The most probable species.</param>
/// <param name="Confidence">The probability of <paramref name="Species"/> (0..1).</param>
/// <param name="Probabilities">Probability of each species, keyed by its name.</param>
/// <param name="OutOfDistribution">How far the measurements lie from the training data of the version that answered.</param>
public sealed record SpeciesPrediction(string Species, double Confidence, IReadOnlyDictionary<string, double> Probabilities, OutOfDistribution OutOfDistribution);

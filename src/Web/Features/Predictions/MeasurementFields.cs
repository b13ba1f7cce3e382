using System.Globalization;

namespace Vigie.Web.Features.Predictions;

/// <summary>
/// One model input as users meet it: its JSON and CSV names, its label, unit and the plausible physical range.
/// The ranges are wide around what was ever measured on these birds (bill 32–60 mm, flipper 172–231 mm,
/// 2.7–6.3 kg), so any real penguin passes and typos (a mass in kg, a length in cm) do not.
/// </summary>
public sealed record MeasurementField(string JsonName, string CsvName, string Label, string Unit, double Min, double Max)
{
    /// <summary>The error for <paramref name="value"/>, or null when it is a plausible measurement.</summary>
    public string? Check(double? value) => value switch
    {
        null => $"{Label} is required.",
        { } v when !double.IsFinite(v) => $"{Label} must be a finite number.",
        { } v when v < Min || v > Max => string.Create(CultureInfo.InvariantCulture, $"{Label} must be between {Min} and {Max} {Unit}."),
        _ => null,
    };
}

/// <summary>The four inputs in model order.</summary>
public static class MeasurementFields
{
    public static readonly MeasurementField BillLength = new("billLengthMm", "bill_length_mm", "Bill length", "mm", 10, 100);
    public static readonly MeasurementField BillDepth = new("billDepthMm", "bill_depth_mm", "Bill depth", "mm", 5, 40);
    public static readonly MeasurementField FlipperLength = new("flipperLengthMm", "flipper_length_mm", "Flipper length", "mm", 100, 300);
    public static readonly MeasurementField BodyMass = new("bodyMassG", "body_mass_g", "Body mass", "g", 1000, 10000);

    public static readonly IReadOnlyList<MeasurementField> All = [BillLength, BillDepth, FlipperLength, BodyMass];
}

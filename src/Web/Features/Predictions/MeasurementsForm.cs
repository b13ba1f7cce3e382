using System.ComponentModel.DataAnnotations;

namespace Vigie.Web.Features.Predictions;

/// <summary>The measurement fields of the prediction form; bound as strings' numbers and validated by the shared rules.</summary>
public sealed class MeasurementsForm
{
    [Display(Name = "Bill length")]
    public double? BillLengthMm { get; set; }

    [Display(Name = "Bill depth")]
    public double? BillDepthMm { get; set; }

    [Display(Name = "Flipper length")]
    public double? FlipperLengthMm { get; set; }

    [Display(Name = "Body mass")]
    public double? BodyMassG { get; set; }

    public PredictionRequest ToRequest() => new(BillLengthMm, BillDepthMm, FlipperLengthMm, BodyMassG);

    /// <summary>The form property a JSON field name maps to (billLengthMm → BillLengthMm).</summary>
    public static string PropertyOf(string jsonName) =>
        string.IsNullOrEmpty(jsonName) ? jsonName : char.ToUpperInvariant(jsonName[0]) + jsonName[1..];
}

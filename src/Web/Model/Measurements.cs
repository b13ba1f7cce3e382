namespace Vigie.Web.Model;

/// <summary>The four body measurements of one penguin, in millimetres and grams, already validated.</summary>
public readonly record struct Measurements(double BillLengthMm, double BillDepthMm, double FlipperLengthMm, double BodyMassG);

/// <summary>What the model answered for one set of measurements.</summary>
/// <param name="Species">The most probable species.</param>
/// <param name="Confidence">The probability of <paramref name="Species"/> (0..1).</param>
/// <param name="Probabilities">Probability of each species, keyed by its name.</param>
public sealed record SpeciesPrediction(string Species, double Confidence, IReadOnlyDictionary<string, double> Probabilities);

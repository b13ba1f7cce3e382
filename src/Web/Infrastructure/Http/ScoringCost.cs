using System.Diagnostics;
using Vigie.Web.Classifier;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>What scoring one prediction costs in CPU, with and without the out-of-distribution score, for the benchmark.</summary>
/// <param name="Predictions">Predictions scored per variant and round.</param>
/// <param name="Rounds">Paired rounds (each variant once per round, the order alternating).</param>
/// <param name="SpeciesOnlyNanoseconds">Process CPU per prediction of the species alone (as before the score existed), median of the rounds.</param>
/// <param name="WithOutOfDistributionNanoseconds">Process CPU per prediction of the species and the out-of-distribution score, median of the rounds.</param>
/// <param name="MedianCost">Median over the rounds of with / without − 1: the share of CPU the score adds.</param>
public sealed record ScoringCostResult(int Predictions, int Rounds, double SpeciesOnlyNanoseconds, double WithOutOfDistributionNanoseconds, double MedianCost);

/// <summary>
/// Prices the out-of-distribution score in-process, on one thread, with the model this instance serves: paired rounds
/// of <see cref="SpeciesModel.PredictSpeciesOnly"/> and <see cref="SpeciesModel.Predict"/> over the base data's birds
/// (one in fifty replaced by a bird beyond every training range, so the flagged path is priced too), each timed in
/// process CPU time. End-to-end runs on a shared machine cannot resolve a difference of a few per cent of a request.
/// </summary>
/// <remarks>Benchmark code, reachable only through <c>GET /bench/scoring</c>, mapped only with <c>Bench:Enabled=true</c>.</remarks>
internal static class ScoringCost
{
    private static readonly Measurements Unlike = new(99, 39, 110, 9999);

    public static ScoringCostResult Measure(SpeciesModel model, PenguinDataSet data, int predictions = 200_000, int rounds = 7)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var inputs = data.Observations.Select((o, i) => i % 50 == 49 ? Unlike : o.Measurements).ToArray();
        Run(model.PredictSpeciesOnly, inputs, 20_000);
        Run(model.Predict, inputs, 20_000);
        var without = new List<double>();
        var with = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            if (round % 2 == 0)
            {
                without.Add(Run(model.PredictSpeciesOnly, inputs, predictions));
                with.Add(Run(model.Predict, inputs, predictions));
            }
            else
            {
                with.Add(Run(model.Predict, inputs, predictions));
                without.Add(Run(model.PredictSpeciesOnly, inputs, predictions));
            }
        }
        return new ScoringCostResult(predictions, rounds, Median(without), Median(with), Median(with.Zip(without, (a, b) => a / b - 1).ToList()));
    }

    // Process CPU nanoseconds per prediction over `count` predictions.
    private static double Run(Func<Measurements, SpeciesPrediction> score, Measurements[] inputs, int count)
    {
        using var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        var answered = 0;
        for (var i = 0; i < count; i++)
        {
            answered += score(inputs[i % inputs.Length]).Confidence > 0 ? 1 : 0;
        }
        process.Refresh();
        var cpu = process.TotalProcessorTime - before;
        return answered == count ? cpu.TotalNanoseconds / count : throw new InvalidOperationException("A prediction had no confidence.");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

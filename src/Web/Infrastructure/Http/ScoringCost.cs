using System.Diagnostics;
using Vigie.Web.Classifier;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>What scoring one prediction costs in CPU, with and without the out-of-distribution score, for the benchmark.</summary>
/// <param name="Predictions">Predictions scored per variant and round.</param>
/// <param name="Rounds">Paired rounds (each variant once per round, the order alternating).</param>
/// <param name="SpeciesOnlyNanoseconds">CPU per prediction of the species alone (as before the score existed): the least-disturbed round.</param>
/// <param name="WithOutOfDistributionNanoseconds">CPU per prediction of the species and the out-of-distribution score: the least-disturbed round.</param>
/// <param name="Cost">With / without − 1 of those two: the share of CPU the score adds.</param>
/// <param name="MedianCost">Median over the rounds of with / without − 1, the same share from every round.</param>
/// <param name="Clock">The clock read: the scoring thread's own CPU time (Linux schedstat), or wall time where it is unavailable.</param>
public sealed record ScoringCostResult(int Predictions, int Rounds, double SpeciesOnlyNanoseconds, double WithOutOfDistributionNanoseconds, double Cost, double MedianCost, string Clock);

/// <summary>
/// Prices the out-of-distribution score in-process, on one thread, with the model this instance serves: paired rounds
/// of <see cref="SpeciesModel.PredictSpeciesOnly"/> and <see cref="SpeciesModel.Predict"/> over the base data's birds
/// (one in fifty replaced by a bird beyond every training range, so the flagged path is priced too), each timed in the
/// scoring thread's own CPU time (nanosecond resolution; the process's CPU time counts 10 ms ticks, too coarse for a
/// round). The least-disturbed round of each variant is compared, as other processes only ever add time. End-to-end
/// runs on a shared machine cannot resolve a difference of a few per cent of a request.
/// </summary>
/// <remarks>Benchmark code, reachable only through <c>GET /bench/scoring</c>, mapped only with <c>Bench:Enabled=true</c>.</remarks>
internal static class ScoringCost
{
    private static readonly Measurements Unlike = new(99, 39, 110, 9999);

    public static ScoringCostResult Measure(SpeciesModel model, PenguinDataSet data, int predictions = 100_000, int rounds = 15)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var inputs = data.Observations.Select((o, i) => i % 50 == 49 ? Unlike : o.Measurements).ToArray();
        // Two seconds of both, alternating, first: tiered compilation promotes the hot methods of both paths meanwhile.
        var warmUp = Stopwatch.StartNew();
        while (warmUp.Elapsed < TimeSpan.FromSeconds(2))
        {
            Run(model.PredictSpeciesOnly, inputs, 10_000);
            Run(model.Predict, inputs, 10_000);
        }
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
        return new ScoringCostResult(predictions, rounds, without.Min(), with.Min(), with.Min() / without.Min() - 1,
            Median(with.Zip(without, (a, b) => a / b - 1).ToList()), File.Exists(SchedStat) ? "thread CPU time" : "wall time");
    }

    // The calling thread's CPU time so far, in nanoseconds: the first field of its schedstat.
    private const string SchedStat = "/proc/thread-self/schedstat";

    private static long Now()
    {
        if (!File.Exists(SchedStat))
        {
            return (long)Stopwatch.GetElapsedTime(0).TotalNanoseconds;
        }
        var text = File.ReadAllText(SchedStat);
        return long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);
    }

    // CPU nanoseconds per prediction over `count` predictions, on this thread (the loop never yields it).
    private static double Run(Func<Measurements, SpeciesPrediction> score, Measurements[] inputs, int count)
    {
        var before = Now();
        var answered = 0;
        for (var i = 0; i < count; i++)
        {
            answered += score(inputs[i % inputs.Length]).Confidence > 0 ? 1 : 0;
        }
        var cpu = Now() - before;
        return answered == count ? (double)cpu / count : throw new InvalidOperationException("A prediction had no confidence.");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

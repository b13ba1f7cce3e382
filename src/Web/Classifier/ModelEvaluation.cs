using Microsoft.ML;
using Microsoft.ML.Data;

namespace Vigie.Web.Classifier;

/// <summary>
/// How a model did on a set of labelled rows, from ML.NET's <see cref="MulticlassClassificationMetrics"/>: accuracy
/// (micro), macro-F1 (the mean of each species' F1, so a rare species weighs as much as a common one), recall per
/// species and the confusion matrix.
/// </summary>
/// <param name="Rows">Rows evaluated.</param>
/// <param name="Accuracy">Share of rows whose species was predicted right (0..1).</param>
/// <param name="MacroF1">Unweighted mean over species of 2·precision·recall / (precision + recall) (0..1).</param>
/// <param name="Recall">Per species: share of its rows predicted as it; null when the rows hold none of it.</param>
/// <param name="Confusion">Counts by actual (row) and predicted (column) species, both in <see cref="Labels"/> order.</param>
public sealed record ModelEvaluation(int Rows, double Accuracy, double MacroF1, IReadOnlyDictionary<string, double?> Recall, IReadOnlyList<IReadOnlyList<int>> Confusion)
{
    /// <summary>How well its confidence matched its accuracy on these rows; null in comparisons recorded before it was measured.</summary>
    public Calibration? Calibration { get; init; }

    /// <summary>The order of the confusion matrix's rows and columns.</summary>
    public IReadOnlyList<string> Labels => Species.All;
}

/// <summary>Evaluates trained or loaded models on labelled rows.</summary>
public static class ModelEvaluator
{
    /// <summary>Metrics of <paramref name="transformer"/> on <paramref name="rows"/>; null when there are no rows.</summary>
    public static ModelEvaluation? Evaluate(ITransformer transformer, IReadOnlyCollection<PenguinRow> rows)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return null;
        }
        var ml = new MLContext(SpeciesModelTrainer.Seed);
        var scored = transformer.Transform(ml.Data.LoadFromEnumerable(rows));
        var metrics = ml.MulticlassClassification.Evaluate(scored, "Label");

        // The key order of the label column is the model's own; map it onto Species.All.
        VBuffer<ReadOnlyMemory<char>> keys = default;
        scored.Schema["Label"].GetKeyValues(ref keys);
        var classes = keys.DenseValues().Select(k => k.ToString()).ToArray();
        var index = Species.All.Select(s => Array.IndexOf(classes, s)).ToArray();
        if (index.Any(i => i < 0))
        {
            throw new InvalidOperationException($"The model's labels [{string.Join(", ", classes)}] are not the species Vigie knows.");
        }

        var counts = metrics.ConfusionMatrix.Counts;
        var confusion = Species.All.Select((_, a) => (IReadOnlyList<int>)Species.All.Select((_, p) => (int)Math.Round(counts[index[a]][index[p]])).ToArray()).ToArray();
        var recall = new Dictionary<string, double?>();
        var f1 = new List<double>();
        for (var s = 0; s < Species.All.Count; s++)
        {
            var actual = confusion[s].Sum();
            var predicted = confusion.Sum(row => row[s]);
            var correct = confusion[s][s];
            recall[Species.All[s]] = actual == 0 ? null : metrics.ConfusionMatrix.PerClassRecall[index[s]];
            if (actual + predicted > 0)
            {
                // F1 = 2TP / (2TP + FP + FN) = 2TP / (predicted + actual); species absent from both sides are left out.
                f1.Add(2.0 * correct / (actual + predicted));
            }
        }
        return new ModelEvaluation(rows.Count, metrics.MicroAccuracy, f1.Count == 0 ? 0 : f1.Average(), recall, confusion)
        {
            Calibration = Calibration.Of(ml.Data.CreateEnumerable<ScoredRow>(scored, reuseRowObject: false)
                .Select(r => ((double)r.Score.Max(), r.PredictedLabel == r.Species))),
        };
    }

    // The columns of a scored row that calibration needs: the true species, the answer and its probability vector.
    private sealed class ScoredRow
    {
        public string Species { get; set; } = string.Empty;
        public string PredictedLabel { get; set; } = string.Empty;
        public float[] Score { get; set; } = [];
    }
}

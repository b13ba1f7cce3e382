using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Vigie.Web.Classifier;

/// <summary>
/// The model in service. ML.NET's <see cref="PredictionEngine{TSrc,TDst}"/> is not thread-safe and costly to create,
/// so engines are pooled: each request borrows one, scores, and returns it.
/// </summary>
public sealed class SpeciesModel
{
    private readonly ObjectPool<Engine> _engines;
    private readonly string[] _scoreOrder;
    // For each slot of the score vector, the species' position in Species.All.
    private readonly int[] _speciesIndex;

    /// <param name="trained">The transformer and its registry facts.</param>
    /// <param name="outOfDistribution">Judges every prediction against this version's training data.</param>
    public SpeciesModel(TrainedSpeciesModel trained, OutOfDistributionCheck outOfDistribution)
    {
        ArgumentNullException.ThrowIfNull(trained);
        ArgumentNullException.ThrowIfNull(outOfDistribution);
        OutOfDistribution = outOfDistribution;
        Version = trained.Version;
        Trainer = trained.Trainer;
        HeldOutAccuracy = trained.HeldOutAccuracy;
        var policy = new EnginePolicy(trained.Context, trained.Transformer);
        _engines = new DefaultObjectPool<Engine>(policy, Environment.ProcessorCount * 4);

        var probe = _engines.Get();
        try
        {
            _scoreOrder = ScoreSlotNames(probe.Inner);
            _speciesIndex = Array.ConvertAll(_scoreOrder, Species.IndexOf);
        }
        finally
        {
            _engines.Return(probe);
        }
    }

    /// <summary>Version of the model: a hash of the training data and trainer settings.</summary>
    public string Version { get; }

    /// <summary>The trainer that produced it.</summary>
    public string Trainer { get; }

    /// <summary>Accuracy on the held-out split of the training data.</summary>
    public double HeldOutAccuracy { get; }

    /// <summary>The out-of-distribution check against this version's training data.</summary>
    public OutOfDistributionCheck OutOfDistribution { get; }

    /// <summary>Scores one set of measurements and judges them against the training data. Thread-safe.</summary>
    public SpeciesPrediction Predict(Measurements measurements) => Classify(measurements, OutOfDistribution.Assess(measurements));

    /// <summary>
    /// The species alone, as Vigie answered before the out-of-distribution score existed: the benchmark times it beside
    /// <see cref="Predict"/> to show what the score costs.
    /// </summary>
    public SpeciesPrediction PredictSpeciesOnly(Measurements measurements) => Classify(measurements, Classifier.OutOfDistribution.None);

    private SpeciesPrediction Classify(Measurements measurements, OutOfDistribution outOfDistribution)
    {
        var engine = _engines.Get();
        try
        {
            var scores = engine.Predict(measurements);
            var probabilities = new double[_scoreOrder.Length];
            var best = 0;
            for (var i = 0; i < _scoreOrder.Length; i++)
            {
                probabilities[_speciesIndex[i]] = scores[i];
                if (scores[i] > scores[best])
                {
                    best = i;
                }
            }
            return new SpeciesPrediction(_scoreOrder[best], scores[best], new SpeciesProbabilityDictionary(probabilities), outOfDistribution);
        }
        finally
        {
            _engines.Return(engine);
        }
    }

    // The score vector is in the label key order; read it from the schema instead of assuming it.
    private static string[] ScoreSlotNames(PredictionEngine<PenguinRow, SpeciesScores> engine)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        engine.OutputSchema["Score"].GetSlotNames(ref names);
        var order = names.DenseValues().Select(name => name.ToString()).ToArray();
        if (!order.OrderBy(n => n, StringComparer.Ordinal).SequenceEqual(Species.All.OrderBy(n => n, StringComparer.Ordinal)))
        {
            throw new InvalidOperationException($"The model scores [{string.Join(", ", order)}], not the species Vigie knows.");
        }
        return order;
    }

    /// <summary>
    /// An engine with its own input and output rows, reused from one prediction to the next: a batch of 100,000 rows
    /// would otherwise leave 300,000 short-lived objects (input, output, score array) for the collector.
    /// </summary>
    private sealed class Engine(PredictionEngine<PenguinRow, SpeciesScores> engine)
    {
        private readonly PenguinRow _input = new();
        private SpeciesScores _output = new();

        public PredictionEngine<PenguinRow, SpeciesScores> Inner => engine;

        /// <summary>The scores, valid until the engine scores again (it goes back to the pool only after they are read).</summary>
        public float[] Predict(Measurements measurements)
        {
            _input.Set(measurements);
            engine.Predict(_input, ref _output);
            return _output.Score;
        }
    }

    private sealed class EnginePolicy(MLContext ml, ITransformer transformer) : PooledObjectPolicy<Engine>
    {
        public override Engine Create() => new(ml.Model.CreatePredictionEngine<PenguinRow, SpeciesScores>(transformer));

        public override bool Return(Engine obj) => true;
    }
}

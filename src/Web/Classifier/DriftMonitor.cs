using Vigie.Web.Infrastructure.Telemetry;

namespace Vigie.Web.Classifier;

/// <summary>
/// The sliding window of this instance's recent predictions (<c>Honesty:DriftWindowSize</c>) against the training data:
/// <list type="bullet">
/// <item>feature drift, the Population Stability Index of each input over the training deciles:
/// PSI = Σ (actual% − expected%) · ln(actual% / expected%). Below 0.1 stable, 0.1–0.2 a moderate shift, above 0.2 a
/// significant one (the alert threshold);</item>
/// <item>output drift, the PSI of the predicted species mix against the training data's species mix;</item>
/// <item>the estimated accuracy (confidence-based performance estimation, as NannyML's CBPE): the mean confidence of the
/// window's answers, which is the expected share of right answers when the model is calibrated — a figure available
/// before any feedback arrives.</item>
/// </list>
/// Nothing is published until the window holds <c>Honesty:DriftMinimumSamples</c> predictions: a PSI over fewer is
/// noise (see <see cref="HonestyOptions.DriftMinimumSamples"/>). The window's size is always published, so the
/// dashboard can say "not enough data yet".
/// </summary>
public sealed class DriftMonitor
{
    // Empty bins would make ln(0); a tiny share keeps the index finite without changing its meaning.
    private const double Epsilon = 1e-4;

    private readonly Lock _gate = new();
    private readonly double[][] _edges;
    private readonly double[][] _expected;
    private readonly int[][] _counts;
    private readonly int[][] _window;
    private readonly double[] _expectedSpecies;
    private readonly int[] _speciesCounts;
    private readonly int[] _speciesWindow;
    private readonly double[] _confidenceWindow;
    private readonly VigieMetrics _metrics;
    private double _confidenceSum;
    private int _next;
    private int _size;

    public DriftMonitor(PenguinDataSet training, HonestyOptions options, VigieMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(options);
        _metrics = metrics;
        WindowSize = options.DriftWindowSize;
        MinimumSamples = options.DriftMinimumSamples;
        var features = Measurement.All.Count;
        _edges = new double[features][];
        _expected = new double[features][];
        _counts = new int[features][];
        _window = new int[features][];
        for (var f = 0; f < features; f++)
        {
            var values = training.Observations.Select(o => FeatureValue(o.Measurements, f)).Order().ToArray();
            _edges[f] = DecileEdges(values);
            var bins = new double[_edges[f].Length + 1];
            foreach (var v in values)
            {
                bins[Bin(_edges[f], v)]++;
            }
            _expected[f] = bins.Select(b => Math.Max(b / values.Length, Epsilon)).ToArray();
            _counts[f] = new int[bins.Length];
            _window[f] = new int[WindowSize];
        }
        _expectedSpecies = Species.All
            .Select(s => Math.Max((double)training.Observations.Count(o => o.Species == s) / training.Observations.Count, Epsilon))
            .ToArray();
        _speciesCounts = new int[Species.All.Count];
        _speciesWindow = new int[WindowSize];
        _confidenceWindow = new double[WindowSize];
        // The indices are computed when Prometheus reads the gauges, not on every prediction: the hot path only moves counts.
        metrics.OnScrape(Publish);
    }

    /// <summary>Predictions kept in the window.</summary>
    public int WindowSize { get; }

    /// <summary>Predictions the window must hold before anything is published.</summary>
    public int MinimumSamples { get; }

    /// <summary>
    /// Sets the window-size gauges always and, once the window holds the minimum sample, <c>vigie_feature_drift_psi</c>,
    /// <c>vigie_prediction_drift_psi</c> and <c>vigie_estimated_accuracy_ratio</c>.
    /// </summary>
    public void Publish()
    {
        lock (_gate)
        {
            _metrics.SetDriftWindow(_size, MinimumSamples);
            if (_size < MinimumSamples)
            {
                return;
            }
            for (var f = 0; f < _edges.Length; f++)
            {
                _metrics.SetFeatureDrift(f, Psi(_expected[f], _counts[f], _size));
            }
            _metrics.SetPredictionDrift(Psi(_expectedSpecies, _speciesCounts, _size));
            _metrics.SetEstimatedAccuracy(_confidenceSum / _size);
        }
    }

    /// <summary>Adds one prediction (its inputs, answer and confidence) to the window.</summary>
    public void Observe(Measurements measurements, string species, double confidence)
    {
        var speciesIndex = Species.IndexOf(species);
        lock (_gate)
        {
            var full = _size == WindowSize;
            for (var f = 0; f < _edges.Length; f++)
            {
                if (full)
                {
                    _counts[f][_window[f][_next]]--;
                }
                var bin = Bin(_edges[f], FeatureValue(measurements, f));
                _window[f][_next] = bin;
                _counts[f][bin]++;
            }
            if (full)
            {
                _speciesCounts[_speciesWindow[_next]]--;
                _confidenceSum -= _confidenceWindow[_next];
            }
            _speciesWindow[_next] = speciesIndex;
            _speciesCounts[speciesIndex]++;
            _confidenceWindow[_next] = confidence;
            _confidenceSum += confidence;
            _next = (_next + 1) % WindowSize;
            _size = Math.Min(_size + 1, WindowSize);
        }
    }

    /// <summary>The window's current figures; the indices are null while it holds fewer than <see cref="MinimumSamples"/>.</summary>
    public DriftSnapshot Current()
    {
        lock (_gate)
        {
            if (_size < MinimumSamples)
            {
                return new DriftSnapshot(_size, MinimumSamples, null, null, null);
            }
            return new DriftSnapshot(_size, MinimumSamples,
                Enumerable.Range(0, _edges.Length).ToDictionary(f => Measurement.All[f].FeatureLabel, f => Psi(_expected[f], _counts[f], _size)),
                Psi(_expectedSpecies, _speciesCounts, _size),
                _confidenceSum / _size);
        }
    }

    /// <summary>PSI of observed bin counts against expected shares.</summary>
    public static double Psi(IReadOnlyList<double> expectedShares, IReadOnlyList<int> actualCounts, int total)
    {
        ArgumentNullException.ThrowIfNull(expectedShares);
        ArgumentNullException.ThrowIfNull(actualCounts);
        var psi = 0.0;
        for (var i = 0; i < expectedShares.Count; i++)
        {
            var actual = Math.Max((double)actualCounts[i] / total, Epsilon);
            psi += (actual - expectedShares[i]) * Math.Log(actual / expectedShares[i]);
        }
        return psi;
    }

    private static double FeatureValue(Measurements m, int feature) => Measurement.All[feature].Read(m);

    // Inner edges at the training deciles (duplicates removed): nine edges, ten bins of about equal training share.
    private static double[] DecileEdges(double[] sorted) =>
        Enumerable.Range(1, 9).Select(i => sorted[(int)Math.Floor(i * (sorted.Length - 1) / 10.0)]).Distinct().ToArray();

    private static int Bin(double[] edges, double value)
    {
        var index = Array.BinarySearch(edges, value);
        return index >= 0 ? index + 1 : ~index;
    }
}

/// <summary>The drift window as <c>GET /api/model</c> reports it.</summary>
/// <param name="WindowPredictions">Predictions in the window now.</param>
/// <param name="MinimumPredictions">Predictions needed before the indices mean anything (<c>Honesty:DriftMinimumSamples</c>).</param>
/// <param name="FeatureDriftPsi">PSI of each input against the training data; null while the window holds too few predictions.</param>
/// <param name="PredictionDriftPsi">PSI of the predicted species mix against the training data's; null while too few.</param>
/// <param name="EstimatedAccuracy">Mean confidence of the window's answers: the accuracy expected if the model is calibrated; null while too few.</param>
public sealed record DriftSnapshot(int WindowPredictions, int MinimumPredictions, IReadOnlyDictionary<string, double>? FeatureDriftPsi,
    double? PredictionDriftPsi, double? EstimatedAccuracy);

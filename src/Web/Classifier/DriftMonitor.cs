using Vigie.Web.Infrastructure.Telemetry;

namespace Vigie.Web.Classifier;

/// <summary>
/// Feature drift as the Population Stability Index of each input over a sliding window of recent predictions
/// against the training data: PSI = Σ (actual% − expected%) · ln(actual% / expected%) over the training deciles.
/// Below 0.1 the population is stable, 0.1–0.2 a moderate shift, above 0.2 a significant one (the alert threshold).
/// </summary>
public sealed class DriftMonitor
{
    /// <summary>Predictions kept in the window.</summary>
    public const int WindowSize = 1000;

    /// <summary>PSI over fewer points is noise; the gauge is published once the window holds this many.</summary>
    public const int MinimumSamples = 30;

    // Empty bins would make ln(0); a tiny share keeps the index finite without changing its meaning.
    private const double Epsilon = 1e-4;

    private readonly Lock _gate = new();
    private readonly double[][] _edges;
    private readonly double[][] _expected;
    private readonly int[][] _counts;
    private readonly int[][] _window;
    private readonly VigieMetrics _metrics;
    private int _next;
    private int _size;

    public DriftMonitor(PenguinDataSet training, VigieMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(training);
        _metrics = metrics;
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
        // The PSI is computed when Prometheus reads the gauges, not on every prediction: the hot path only moves counts.
        metrics.OnScrape(Publish);
    }

    /// <summary>Sets <c>vigie_feature_drift_psi</c> from the current window (once it holds the minimum sample).</summary>
    public void Publish()
    {
        lock (_gate)
        {
            if (_size < MinimumSamples)
            {
                return;
            }
            for (var f = 0; f < _edges.Length; f++)
            {
                _metrics.SetFeatureDrift(f, Psi(_expected[f], _counts[f], _size));
            }
        }
    }

    /// <summary>Adds one prediction's inputs to the window.</summary>
    public void Observe(Measurements measurements)
    {
        lock (_gate)
        {
            for (var f = 0; f < _edges.Length; f++)
            {
                if (_size == WindowSize)
                {
                    _counts[f][_window[f][_next]]--;
                }
                var bin = Bin(_edges[f], FeatureValue(measurements, f));
                _window[f][_next] = bin;
                _counts[f][bin]++;
            }
            _next = (_next + 1) % WindowSize;
            _size = Math.Min(_size + 1, WindowSize);
        }
    }

    /// <summary>The current PSI per feature name, or null while the window holds fewer than <see cref="MinimumSamples"/>.</summary>
    public IReadOnlyDictionary<string, double>? Current()
    {
        lock (_gate)
        {
            if (_size < MinimumSamples)
            {
                return null;
            }
            return Enumerable.Range(0, _edges.Length).ToDictionary(f => Measurement.All[f].FeatureLabel, f => Psi(_expected[f], _counts[f], _size));
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

using Prometheus;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Classifier;

namespace Vigie.Tests.Unit.Classifier;

public sealed class DriftMonitorTests
{
    private static readonly PenguinDataSet Data = PenguinDataSet.Load(Path.Combine(AppContext.BaseDirectory, "Data", "penguins.csv"));

    private static DriftMonitor NewMonitor(HonestyOptions? options = null) =>
        new(Data, options ?? new HonestyOptions(), new VigieMetrics(Prometheus.Metrics.NewCustomRegistry()));

    // The inputs alone matter to feature drift; the answer is the bird's own species, as a perfect model would give.
    private static void Observe(DriftMonitor monitor, PenguinObservation observation) =>
        monitor.Observe(observation.Measurements, observation.Species, 0.9);

    [Test]
    public void Psi_is_zero_for_identical_distributions_and_matches_the_formula()
    {
        Assert.Multiple(() =>
        {
            Assert.That(DriftMonitor.Psi([0.5, 0.5], [50, 50], 100), Is.EqualTo(0).Within(1e-12));
            // (0.8-0.5)ln(0.8/0.5) + (0.2-0.5)ln(0.2/0.5)
            Assert.That(DriftMonitor.Psi([0.5, 0.5], [80, 20], 100), Is.EqualTo(0.3 * Math.Log(1.6) + -0.3 * Math.Log(0.4)).Within(1e-12));
        });
    }

    [Test]
    public void Gauge_is_not_published_before_the_minimum_sample()
    {
        var monitor = NewMonitor();
        foreach (var observation in Data.Observations.Take(monitor.MinimumSamples - 1))
        {
            Observe(monitor, observation);
        }
        var window = monitor.Current();
        Assert.Multiple(() =>
        {
            Assert.That(window.WindowPredictions, Is.EqualTo(monitor.MinimumSamples - 1));
            Assert.That(window.FeatureDriftPsi, Is.Null);
            Assert.That(window.PredictionDriftPsi, Is.Null);
            Assert.That(window.EstimatedAccuracy, Is.Null);
        });
    }

    [Test]
    public void Replaying_the_training_data_shows_no_significant_drift()
    {
        var monitor = NewMonitor();
        foreach (var observation in Data.Observations)
        {
            Observe(monitor, observation);
        }
        var window = monitor.Current();
        Assert.Multiple(() =>
        {
            Assert.That(window.FeatureDriftPsi!.Values, Has.All.LessThan(0.1), string.Join(", ", window.FeatureDriftPsi!));
            Assert.That(window.PredictionDriftPsi, Is.LessThan(0.01));
            Assert.That(window.EstimatedAccuracy, Is.EqualTo(0.9).Within(1e-9));
        });
    }

    [Test]
    public void Heavier_birds_than_in_training_show_body_mass_drift_above_the_alert_threshold()
    {
        var monitor = NewMonitor();
        foreach (var observation in Data.Observations)
        {
            monitor.Observe(observation.Measurements with { BodyMassG = observation.Measurements.BodyMassG + 1500 }, observation.Species, 0.9);
        }
        var psi = monitor.Current().FeatureDriftPsi!;
        Assert.Multiple(() =>
        {
            Assert.That(psi["body_mass_g"], Is.GreaterThan(0.2));
            Assert.That(psi["bill_length_mm"], Is.LessThan(0.1));
        });
    }

    [Test]
    public void The_window_forgets_old_predictions()
    {
        var monitor = NewMonitor();
        for (var i = 0; i < monitor.WindowSize; i++)
        {
            monitor.Observe(new Measurements(60, 21, 240, 6500), Species.Gentoo, 0.5);
        }
        Assert.That(monitor.Current().FeatureDriftPsi!["flipper_length_mm"], Is.GreaterThan(0.2));
        for (var i = 0; i < monitor.WindowSize; i++)
        {
            Observe(monitor, Data.Observations[i % Data.Observations.Count]);
        }
        var window = monitor.Current();
        Assert.Multiple(() =>
        {
            Assert.That(window.FeatureDriftPsi!["flipper_length_mm"], Is.LessThan(0.1));
            Assert.That(window.EstimatedAccuracy, Is.EqualTo(0.9).Within(1e-9));
        });
    }

    [Test]
    public void A_window_answering_only_one_species_shows_output_drift_above_the_alert_threshold()
    {
        var monitor = NewMonitor();
        foreach (var observation in Data.Observations)
        {
            monitor.Observe(observation.Measurements, Species.Chinstrap, 0.9);
        }
        Assert.That(monitor.Current().PredictionDriftPsi, Is.GreaterThan(0.2));
    }

    [Test]
    public void Estimated_accuracy_is_the_mean_confidence_of_the_window()
    {
        var confidences = new[] { 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 1.0, 0.9, 0.8, 0.7 };
        var monitor = NewMonitor(new HonestyOptions { DriftWindowSize = 10, DriftMinimumSamples = 4 });
        foreach (var confidence in confidences)
        {
            monitor.Observe(Data.Observations[0].Measurements, Species.Adelie, confidence);
        }
        // The window keeps the last ten: six of 0.2 and 1.0, 0.9, 0.8, 0.7.
        Assert.That(monitor.Current().EstimatedAccuracy, Is.EqualTo((6 * 0.2 + 1.0 + 0.9 + 0.8 + 0.7) / 10).Within(1e-12));
    }

    /// <summary>
    /// Why <see cref="HonestyOptions.DriftMinimumSamples"/> is 200: samples of the training data itself (no drift at
    /// all) of that size stay below the 0.2 alert threshold at least 99 times in 100, while at 80 predictions (the
    /// fresh demo that made <c>VigieFeatureDrift</c> pending) a feature crosses it far more often.
    /// </summary>
    [Test]
    public void Samples_of_the_training_data_of_the_minimum_size_rarely_read_as_significant_drift()
    {
        var minimum = new HonestyOptions().DriftMinimumSamples;
        var atMinimum = FalseAlarmRate(minimum);
        var atEighty = FalseAlarmRate(80);
        TestContext.Out.WriteLine($"share of no-drift samples with a feature PSI > 0.2: {atMinimum:P1} at n = {minimum}, {atEighty:P1} at n = 80");
        Assert.Multiple(() =>
        {
            Assert.That(atMinimum, Is.LessThanOrEqualTo(0.01));
            Assert.That(atEighty, Is.GreaterThan(0.05));
        });

        static double FalseAlarmRate(int size)
        {
            const int Trials = 400;
            var random = new Random(19);
            var alarms = 0;
            for (var trial = 0; trial < Trials; trial++)
            {
                var monitor = NewMonitor(new HonestyOptions { DriftWindowSize = size, DriftMinimumSamples = size });
                for (var i = 0; i < size; i++)
                {
                    Observe(monitor, Data.Observations[random.Next(Data.Observations.Count)]);
                }
                alarms += monitor.Current().FeatureDriftPsi!.Values.Any(psi => psi > 0.2) ? 1 : 0;
            }
            return (double)alarms / Trials;
        }
    }

    [Test]
    public void A_minimum_sample_larger_than_the_window_is_refused_at_start_up()
    {
        var options = new HonestyOptions { DriftWindowSize = 100, DriftMinimumSamples = 101 };
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        var valid = System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), results, validateAllProperties: true);
        Assert.Multiple(() =>
        {
            Assert.That(valid, Is.False);
            Assert.That(results.SelectMany(r => r.MemberNames), Does.Contain(nameof(HonestyOptions.DriftMinimumSamples)));
        });
    }
}

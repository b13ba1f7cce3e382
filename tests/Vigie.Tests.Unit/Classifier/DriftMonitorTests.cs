using Prometheus;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Classifier;

namespace Vigie.Tests.Unit.Classifier;

public sealed class DriftMonitorTests
{
    private static readonly PenguinDataSet Data = PenguinDataSet.Load(Path.Combine(AppContext.BaseDirectory, "Data", "penguins.csv"));

    private static DriftMonitor NewMonitor() => new(Data, new VigieMetrics(Prometheus.Metrics.NewCustomRegistry()));

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
        foreach (var observation in Data.Observations.Take(DriftMonitor.MinimumSamples - 1))
        {
            monitor.Observe(observation.Measurements);
        }
        Assert.That(monitor.Current(), Is.Null);
    }

    [Test]
    public void Replaying_the_training_data_shows_no_significant_drift()
    {
        var monitor = NewMonitor();
        foreach (var observation in Data.Observations)
        {
            monitor.Observe(observation.Measurements);
        }
        var psi = monitor.Current()!;
        Assert.That(psi.Values, Has.All.LessThan(0.1), string.Join(", ", psi));
    }

    [Test]
    public void Heavier_birds_than_in_training_show_body_mass_drift_above_the_alert_threshold()
    {
        var monitor = NewMonitor();
        foreach (var observation in Data.Observations)
        {
            monitor.Observe(observation.Measurements with { BodyMassG = observation.Measurements.BodyMassG + 1500 });
        }
        var psi = monitor.Current()!;
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
        for (var i = 0; i < DriftMonitor.WindowSize; i++)
        {
            monitor.Observe(new Measurements(60, 21, 240, 6500));
        }
        Assert.That(monitor.Current()!["flipper_length_mm"], Is.GreaterThan(0.2));
        for (var i = 0; i < DriftMonitor.WindowSize; i++)
        {
            monitor.Observe(Data.Observations[i % Data.Observations.Count].Measurements);
        }
        Assert.That(monitor.Current()!["flipper_length_mm"], Is.LessThan(0.1));
    }
}

using Vigie.Web.Features.Predictions;
using Vigie.Web.Classifier;

namespace Vigie.Tests.Unit.Classifier;

/// <summary>The measurement table is read everywhere a measurement is named: these tie the few typed places to it.</summary>
public sealed class MeasurementTableTests
{
    // Distinct values, so a measurement read through the wrong property shows.
    private static readonly Measurements Bird = new(41.5, 17.25, 199, 4125);

    [Test]
    public void Each_measurement_reads_the_property_it_is_named_after()
    {
        foreach (var measurement in Measurement.All)
        {
            var property = typeof(Measurements).GetProperty(measurement.PropertyName);
            Assert.That(property, Is.Not.Null, measurement.PropertyName);
            Assert.That(measurement.Read(Bird), Is.EqualTo(property!.GetValue(Bird)), measurement.JsonName);
            Assert.That(Bird.ValueAt(measurement.Index), Is.EqualTo(property.GetValue(Bird)), $"ValueAt({measurement.Index})");
        }
    }

    [Test]
    public void The_table_lists_the_measurements_in_feature_order()
    {
        Assert.That(Measurement.All.Select(m => m.Index), Is.EqualTo(Enumerable.Range(0, Measurement.All.Count)));
        Assert.That(Measurements.From(m => m.Read(Bird)), Is.EqualTo(Bird));
    }

    [Test]
    public void The_request_reads_each_measurement_from_its_own_property()
    {
        var request = new PredictionRequest(Bird.BillLengthMm, Bird.BillDepthMm, Bird.FlipperLengthMm, Bird.BodyMassG);
        foreach (var measurement in Measurement.All)
        {
            Assert.That(request[measurement], Is.EqualTo(typeof(PredictionRequest).GetProperty(measurement.PropertyName)!.GetValue(request)), measurement.JsonName);
        }
        Assert.That(request.ToMeasurements(), Is.EqualTo(Bird));
    }

    [Test]
    public void The_model_input_sets_each_feature_column_from_its_measurement()
    {
        var row = PenguinRow.From(Bird);
        Assert.That(PenguinRow.FeatureColumns, Is.EqualTo(Measurement.All.Select(m => m.PropertyName)));
        foreach (var measurement in Measurement.All)
        {
            Assert.That(typeof(PenguinRow).GetProperty(measurement.PropertyName)!.GetValue(row), Is.EqualTo((float)measurement.Read(Bird)), measurement.JsonName);
        }
    }

    [Test]
    public void A_stored_prediction_gives_back_the_measurements_it_was_made_from()
    {
        var prediction = new Prediction(7, Bird, Species.Gentoo, 0.9, new Dictionary<string, double>(), Channels.Api, "v", DateTimeOffset.UnixEpoch, null, null);
        Assert.That(prediction.Measurements, Is.EqualTo(Bird));
        Assert.That(prediction.FlipperLengthMm, Is.EqualTo(Bird.FlipperLengthMm));
    }
}

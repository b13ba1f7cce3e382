using Vigie.Web.Features.Predictions;

namespace Vigie.Tests.Unit.Features.Predictions;

public sealed class PredictionRequestTests
{
    private static readonly PredictionRequest Valid = new(39.1, 18.7, 181, 3750);

    [Test]
    public void A_typical_bird_is_valid()
    {
        Assert.That(Valid.Validate(), Is.Empty);
    }

    [Test]
    public void Every_missing_field_is_named()
    {
        var errors = new PredictionRequest(null, null, null, null).Validate();
        Assert.That(errors.Keys, Is.EquivalentTo(new[] { "billLengthMm", "billDepthMm", "flipperLengthMm", "bodyMassG" }));
        Assert.That(errors["flipperLengthMm"], Is.EqualTo(new[] { "Flipper length is required." }));
    }

    [TestCase(double.NaN, "must be a finite number")]
    [TestCase(double.PositiveInfinity, "must be a finite number")]
    [TestCase(-5, "between 100 and 300 mm")]
    [TestCase(0, "between 100 and 300 mm")]
    [TestCase(99.9, "between 100 and 300 mm")]
    [TestCase(300.1, "between 100 and 300 mm")]
    [TestCase(1e308, "between 100 and 300 mm")]
    public void Implausible_flipper_lengths_are_rejected_with_a_message_naming_the_field(double flipper, string expected)
    {
        var errors = (Valid with { FlipperLengthMm = flipper }).Validate();
        Assert.That(errors.Keys, Is.EqualTo(new[] { "flipperLengthMm" }));
        Assert.That(errors["flipperLengthMm"][0], Does.StartWith("Flipper length").And.Contain(expected));
    }

    [TestCase(100.0)]
    [TestCase(300.0)]
    public void Range_bounds_are_inclusive(double flipper)
    {
        Assert.That((Valid with { FlipperLengthMm = flipper }).Validate(), Is.Empty);
    }

    [Test]
    public void Body_mass_in_kilograms_is_caught()
    {
        Assert.That((Valid with { BodyMassG = 3.75 }).Validate().Keys, Is.EqualTo(new[] { "bodyMassG" }));
    }

    [Test]
    public void List_query_parses_filters_case_insensitively_and_rejects_unknown_values()
    {
        var (query, errors) = PredictionQuery.Parse("10", "42", "gentoo", "API");
        Assert.Multiple(() =>
        {
            Assert.That(errors, Is.Empty);
            Assert.That(query, Is.EqualTo(new PredictionQuery(10, 42, "Gentoo", "api")));
        });
        var (bad, badErrors) = PredictionQuery.Parse("500", "abc", "Emperor", "fax");
        Assert.Multiple(() =>
        {
            Assert.That(bad, Is.Null);
            Assert.That(badErrors.Keys, Is.EquivalentTo(new[] { "limit", "cursor", "species", "channel" }));
        });
    }

    [Test]
    public void List_query_filters_by_a_batch_id_and_rejects_anything_else()
    {
        var batch = Guid.CreateVersion7();
        Assert.Multiple(() =>
        {
            Assert.That(PredictionQuery.Parse(null, null, null, null, batch.ToString()).Query?.Batch, Is.EqualTo(batch));
            Assert.That(PredictionQuery.Parse(null, null, null, null, "not-a-batch").Errors.Keys, Is.EqualTo(new[] { "batch" }));
        });
    }
}

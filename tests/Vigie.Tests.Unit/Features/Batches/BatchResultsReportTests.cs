using Vigie.Web.Features.Batches;
using Vigie.Web.Features.Predictions;

namespace Vigie.Tests.Unit.Features.Batches;

public sealed class BatchResultsReportTests
{
    [Test]
    public void The_results_header_keeps_the_uploads_own_species_column_and_renames_the_prediction()
    {
        var header = BatchService.ResultColumns(["id", "Species"]);
        Assert.Multiple(() =>
        {
            Assert.That(header.Take(3), Is.EqualTo(new[] { "line", "id", "Species" }));
            Assert.That(header, Does.Contain("predicted_species").And.Not.Contain("species"));
            Assert.That(header.Select(h => h.ToUpperInvariant()), Is.Unique);
        });
    }

    [Test]
    public void Without_a_clash_the_results_header_is_unchanged()
    {
        Assert.That(BatchService.ResultColumns(["id"]), Is.EqualTo(new[]
        {
            "line", "id", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "species", "confidence",
            "probability_adelie", "probability_chinstrap", "probability_gentoo", "prediction_id", "model_version",
            "out_of_distribution", "ood_score", "ood_features",
        }));
    }

    [Test]
    public void The_summary_counts_every_species_and_the_accuracy_only_on_rows_that_name_a_species()
    {
        BatchTally[] tallies =
        [
            new("Adelie", "Adelie", 8), new("Adelie", "Chinstrap", 2), new("Gentoo", "Gentoo", 5), new("Gentoo", null, 4),
        ];
        var (species, accuracy) = BatchResultsReport.Summarize(tallies, "species");
        Assert.Multiple(() =>
        {
            Assert.That(species, Is.EqualTo(new[] { new BatchSpeciesCount("Adelie", 10), new BatchSpeciesCount("Chinstrap", 0), new BatchSpeciesCount("Gentoo", 9) }));
            Assert.That(accuracy, Is.EqualTo(new BatchAccuracy("species", 15, 13)));
            Assert.That(accuracy!.Accuracy, Is.EqualTo(13.0 / 15));
        });
    }

    [Test]
    public void A_species_column_that_names_no_species_gives_no_accuracy()
    {
        var (_, accuracy) = BatchResultsReport.Summarize([new BatchTally("Adelie", null, 3)], "species");
        Assert.That(accuracy, Is.Null);
    }

    [Test]
    public void The_label_column_is_found_whatever_its_case()
    {
        Assert.Multiple(() =>
        {
            Assert.That(BatchResultsReport.LabelColumnIndex(["id", "SPECIES"]), Is.EqualTo(1));
            Assert.That(BatchResultsReport.LabelColumnIndex(["id", "note"]), Is.Null);
        });
    }
}

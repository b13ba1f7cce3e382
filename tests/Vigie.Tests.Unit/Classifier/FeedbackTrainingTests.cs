using Vigie.Web.Classifier;

namespace Vigie.Tests.Unit.Classifier;

public sealed class FeedbackTrainingTests
{
    private static readonly PenguinDataSet Data = PenguinDataSet.Load(Path.Combine(AppContext.BaseDirectory, "Data", "penguins.csv"));

    // The base model calls this bird a Gentoo (p ≈ 0.86); the synthetic feedback says Chinstrap.
    private static readonly Measurements Bird = new(45, 16, 210, 4500);

    private static readonly Lazy<TrainedSpeciesModel> Base = new(() => SpeciesModelTrainer.Train(Data));

    private static List<FeedbackRow> SyntheticFeedback(int count, long firstId = 1) =>
        Enumerable.Range(0, count).Select(i => new FeedbackRow(firstId + i, Bird with { BodyMassG = Bird.BodyMassG + i % 7 * 10 }, Species.Chinstrap)).ToList();

    [Test]
    public void The_feedback_split_holds_out_about_one_row_in_five_and_never_moves_a_row()
    {
        var heldOut = Enumerable.Range(1, 10_000).Count(id => FeedbackTraining.IsHeldOut(id));
        Assert.Multiple(() =>
        {
            Assert.That(heldOut, Is.InRange(1_800, 2_200));
            // Pinned: a row that moved from held-out to training would let a new version train on its rival's evidence.
            Assert.That(Enumerable.Range(1, 40).Where(id => FeedbackTraining.IsHeldOut(id)), Is.EqualTo(new[] { 1, 2, 13, 16, 18, 29, 30, 31, 35 }));
        });
    }

    [Test]
    public void Without_feedback_the_version_is_the_base_version_and_feedback_changes_it()
    {
        var feedback = SyntheticFeedback(10);
        var relabelled = feedback.Select(f => f with { ActualSpecies = Species.Adelie }).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(FeedbackTraining.VersionOf(Data, []), Is.EqualTo(SpeciesModelTrainer.VersionOf(Data)));
            Assert.That(FeedbackTraining.VersionOf(Data, feedback), Does.Match("^[0-9a-f]{12}$").And.Not.EqualTo(SpeciesModelTrainer.VersionOf(Data)));
            Assert.That(FeedbackTraining.VersionOf(Data, feedback), Is.EqualTo(FeedbackTraining.VersionOf(Data, feedback.AsEnumerable().Reverse().ToList())));
            Assert.That(FeedbackTraining.VersionOf(Data, relabelled), Is.Not.EqualTo(FeedbackTraining.VersionOf(Data, feedback)));
        });
    }

    [Test]
    public void Retraining_on_contrary_feedback_changes_the_answer_and_records_the_lineage()
    {
        var feedback = SyntheticFeedback(40, firstId: 1000);
        var candidate = FeedbackTraining.Train(Data, feedback, "parent", recentFeedbackRows: 5);
        var trainFeedback = feedback.Count(f => !FeedbackTraining.IsHeldOut(f.PredictionId));
        var (baseTrain, baseHeldOut) = SpeciesModelTrainer.SplitRows(Data);
        var before = new SpeciesModel(Base.Value, BaseTrainingProfile.Check).Predict(Bird);
        var after = new SpeciesModel(candidate.Model, BaseTrainingProfile.Check).Predict(Bird);
        var lineage = candidate.Lineage;
        Assert.Multiple(() =>
        {
            Assert.That(before.Species, Is.EqualTo(Species.Gentoo));
            Assert.That(after.Species, Is.EqualTo(Species.Chinstrap));
            Assert.That(candidate.Model.Version, Is.EqualTo(FeedbackTraining.VersionOf(Data, feedback.Where(f => !FeedbackTraining.IsHeldOut(f.PredictionId)).ToList())));
            Assert.That(candidate.Settings, Is.EqualTo(FeedbackTraining.Settings));
            Assert.That(lineage.BaseDataSha256, Is.EqualTo(Data.Sha256));
            Assert.That(lineage.BaseTrainingRows, Is.EqualTo(baseTrain.Count));
            Assert.That(lineage.FeedbackUpToPredictionId, Is.EqualTo(1039));
            Assert.That(lineage.FeedbackTrainingRows, Is.EqualTo(trainFeedback));
            Assert.That(lineage.FeedbackHeldOutRows, Is.EqualTo(40 - trainFeedback));
            Assert.That(lineage.TrainingRows, Is.EqualTo(baseTrain.Count + trainFeedback));
            Assert.That(lineage.HeldOutRows, Is.EqualTo(baseHeldOut.Count + 40 - trainFeedback));
            Assert.That(lineage.ParentVersion, Is.EqualTo("parent"));
            Assert.That(candidate.HeldOutRows, Has.Count.EqualTo(lineage.HeldOutRows));
            Assert.That(candidate.RecentFeedbackRows, Has.Count.EqualTo(Math.Min(5, 40 - trainFeedback)));
            Assert.That(candidate.HeldOut.Rows, Is.EqualTo(lineage.HeldOutRows));
        });
    }

    [Test]
    public void The_base_registration_reports_the_same_held_out_accuracy_as_training()
    {
        var registration = FeedbackTraining.Base(Base.Value, Data, ModelBytes.Save(Base.Value));
        Assert.Multiple(() =>
        {
            Assert.That(registration.Model.Version, Is.EqualTo(SpeciesModelTrainer.VersionOf(Data)));
            Assert.That(registration.HeldOut.Accuracy, Is.EqualTo(Base.Value.HeldOutAccuracy).Within(1e-9));
            Assert.That(registration.Lineage.FeedbackUpToPredictionId, Is.Null);
            Assert.That(registration.Lineage.TrainingRows + registration.Lineage.HeldOutRows, Is.EqualTo(Data.Observations.Count));
        });
    }

    [Test]
    public void Evaluation_reports_accuracy_macro_f1_recall_and_a_confusion_matrix_that_add_up()
    {
        var (_, heldOut) = SpeciesModelTrainer.SplitRows(Data);
        var evaluation = ModelEvaluator.Evaluate(Base.Value.Transformer, heldOut)!;
        var correct = Enumerable.Range(0, 3).Sum(i => evaluation.Confusion[i][i]);
        Assert.Multiple(() =>
        {
            Assert.That(evaluation.Labels, Is.EqualTo(Species.All));
            Assert.That(evaluation.Confusion.Sum(row => row.Sum()), Is.EqualTo(heldOut.Count));
            Assert.That(evaluation.Accuracy, Is.EqualTo((double)correct / heldOut.Count).Within(1e-9));
            Assert.That(evaluation.MacroF1, Is.InRange(0.9, 1.0));
            foreach (var (species, i) in Species.All.Select((s, i) => (s, i)))
            {
                Assert.That(evaluation.Recall[species], Is.EqualTo((double)evaluation.Confusion[i][i] / evaluation.Confusion[i].Sum()).Within(1e-9), species);
            }
        });
    }

    [Test]
    public void Evaluation_of_rows_without_a_species_leaves_its_recall_empty_and_no_rows_give_no_evaluation()
    {
        var onlyGentoo = SpeciesModelTrainer.SplitRows(Data).HeldOut.Where(r => r.Species == Species.Gentoo).ToList();
        var evaluation = ModelEvaluator.Evaluate(Base.Value.Transformer, onlyGentoo)!;
        Assert.Multiple(() =>
        {
            Assert.That(evaluation.Recall[Species.Adelie], Is.Null);
            Assert.That(evaluation.Recall[Species.Chinstrap], Is.Null);
            Assert.That(evaluation.Recall[Species.Gentoo], Is.Not.Null);
            Assert.That(ModelEvaluator.Evaluate(Base.Value.Transformer, []), Is.Null);
        });
    }

    [Test]
    public void A_serialized_model_loads_back_with_the_same_answers_and_content_hash()
    {
        var bytes = ModelBytes.Save(Base.Value);
        var loaded = ModelBytes.Load(bytes, Base.Value.Version, Base.Value.Trainer, Base.Value.HeldOutAccuracy);
        var original = new SpeciesModel(Base.Value, BaseTrainingProfile.Check).Predict(Bird);
        var again = new SpeciesModel(loaded, BaseTrainingProfile.Check).Predict(Bird);
        Assert.Multiple(() =>
        {
            Assert.That(again.Species, Is.EqualTo(original.Species));
            Assert.That(again.Confidence, Is.EqualTo(original.Confidence).Within(1e-6));
            Assert.That(ModelBytes.Sha256(bytes), Does.Match("^[0-9a-f]{64}$"));
            Assert.That(loaded.Version, Is.EqualTo(Base.Value.Version));
        });
    }
}

using Microsoft.Extensions.Logging.Abstractions;
using Vigie.Web.Classifier;

namespace Vigie.Tests.Unit.Classifier;

public sealed class SpeciesModelTests
{
    private static readonly string DataPath = Path.Combine(AppContext.BaseDirectory, "Data", "penguins.csv");
    private static readonly Lazy<(PenguinDataSet Data, TrainedSpeciesModel Trained)> Trained = new(() =>
    {
        var data = PenguinDataSet.Load(DataPath);
        return (data, SpeciesModelTrainer.Train(data));
    });

    [Test]
    public void Data_set_drops_rows_with_missing_measurements()
    {
        var data = Trained.Value.Data;
        Assert.Multiple(() =>
        {
            Assert.That(data.Observations, Has.Count.EqualTo(342));
            Assert.That(data.DroppedRows, Is.EqualTo(2));
            Assert.That(data.Observations.Select(o => o.Species).Distinct(), Is.EquivalentTo(Species.All));
        });
    }

    [Test]
    public void Held_out_accuracy_is_at_least_95_percent()
    {
        TestContext.Out.WriteLine($"held-out accuracy: {Trained.Value.Trained.HeldOutAccuracy:F4}");
        Assert.That(Trained.Value.Trained.HeldOutAccuracy, Is.GreaterThanOrEqualTo(0.95));
    }

    [Test]
    public void Version_is_a_stable_hash_of_data_and_settings()
    {
        var again = SpeciesModelTrainer.VersionOf(PenguinDataSet.Load(DataPath));
        Assert.Multiple(() =>
        {
            Assert.That(Trained.Value.Trained.Version, Does.Match("^[0-9a-f]{12}$"));
            Assert.That(again, Is.EqualTo(Trained.Value.Trained.Version));
        });
    }

    [Test]
    public void Version_changes_when_the_data_changes()
    {
        var path = Path.GetTempFileName();
        try
        {
            var lines = File.ReadAllLines(DataPath);
            File.WriteAllLines(path, lines.Take(lines.Length - 1));
            Assert.That(SpeciesModelTrainer.VersionOf(PenguinDataSet.Load(path)), Is.Not.EqualTo(Trained.Value.Trained.Version));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase(39.1, 18.7, 181, 3750, "Adelie")]
    [TestCase(46.5, 17.9, 192, 3500, "Chinstrap")]
    [TestCase(46.1, 13.2, 211, 4500, "Gentoo")]
    public void Typical_birds_get_their_species_with_probabilities_summing_to_one(double bill, double depth, double flipper, double mass, string expected)
    {
        var model = new SpeciesModel(Trained.Value.Trained, BaseTrainingProfile.Check);
        var result = model.Predict(new Measurements(bill, depth, flipper, mass));
        Assert.Multiple(() =>
        {
            Assert.That(result.Species, Is.EqualTo(expected));
            Assert.That(result.Probabilities.Keys, Is.EquivalentTo(Species.All));
            Assert.That(result.Probabilities.Values.Sum(), Is.EqualTo(1.0).Within(1e-4));
            Assert.That(result.Confidence, Is.EqualTo(result.Probabilities[expected]));
            Assert.That(result.Confidence, Is.EqualTo(result.Probabilities.Values.Max()));
        });
    }

    [Test]
    public void Pooled_engines_answer_concurrent_requests_consistently()
    {
        var model = new SpeciesModel(Trained.Value.Trained, BaseTrainingProfile.Check);
        var input = new Measurements(50.0, 15.2, 218, 5700);
        var expected = model.Predict(input);
        var answers = new System.Collections.Concurrent.ConcurrentBag<SpeciesPrediction>();
        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ => answers.Add(model.Predict(input)));
        Assert.That(answers.Select(a => (a.Species, a.Confidence)).Distinct(), Is.EqualTo(new[] { (expected.Species, expected.Confidence) }));
    }

    [Test]
    public void A_model_saved_to_Model_Path_is_loaded_back_with_its_version()
    {
        var directory = Directory.CreateTempSubdirectory("vigie-model-");
        try
        {
            var options = new ModelOptions { Path = Path.Combine(directory.FullName, "model.zip") };
            var data = ModelLoader.LoadData(options);
            var trained = new SpeciesModel(ModelLoader.LoadOrTrainBase(options, data, NullLogger.Instance).Trained, BaseTrainingProfile.Check);
            Assert.That(File.Exists(options.Path), Is.True, "the trained model is saved where Model:Path points");
            var loaded = new SpeciesModel(ModelLoader.LoadOrTrainBase(options, data, NullLogger.Instance).Trained, BaseTrainingProfile.Check);
            var input = new Measurements(45.2, 16.4, 223, 5950);
            Assert.Multiple(() =>
            {
                Assert.That(loaded.Version, Is.EqualTo(trained.Version));
                Assert.That(loaded.HeldOutAccuracy, Is.EqualTo(trained.HeldOutAccuracy).Within(1e-9));
                Assert.That(loaded.Predict(input).Confidence, Is.EqualTo(trained.Predict(input).Confidence).Within(1e-6));
            });
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}

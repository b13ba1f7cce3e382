using Vigie.Web.Classifier;

namespace Vigie.Tests.Unit.Classifier;

public sealed class ModelHolderTests
{
    private static readonly PenguinDataSet Data = PenguinDataSet.Load(Path.Combine(AppContext.BaseDirectory, "Data", "penguins.csv"));
    private static readonly Lazy<TrainedSpeciesModel> Trained = new(() => SpeciesModelTrainer.Train(Data));

    private static ServingModel Serving(string version) =>
        new(new SpeciesModel(Trained.Value with { Version = version }, BaseTrainingProfile.Check), Trained.Value, "settings", 342);

    [Test]
    public void Nothing_is_served_until_a_model_is_installed()
    {
        var holder = new ModelHolder();
        Assert.Multiple(() =>
        {
            Assert.That(holder.Active, Is.Null);
            Assert.That(holder.RequireActive, Throws.TypeOf<ModelUnavailableException>());
        });
    }

    [Test]
    public void A_swap_returns_the_previous_model_and_readers_see_one_whole_model_or_the_other()
    {
        var holder = new ModelHolder();
        var a = Serving("aaaaaaaaaaaa");
        var b = Serving("bbbbbbbbbbbb");
        Assert.That(holder.ExchangeActive(a), Is.Null);
        using var stop = new CancellationTokenSource();
        var torn = 0;
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var seen = holder.RequireActive();
                if (!ReferenceEquals(seen, a) && !ReferenceEquals(seen, b) || seen.Version != seen.Model.Version)
                {
                    Interlocked.Increment(ref torn);
                }
            }
        })).ToArray();
        for (var i = 0; i < 10_000; i++)
        {
            var previous = holder.ExchangeActive(i % 2 == 0 ? b : a);
            Assert.That(previous, Is.SameAs(i % 2 == 0 ? a : b));
        }
        stop.Cancel();
        Task.WaitAll(readers);
        Assert.That(torn, Is.Zero);
    }

    [Test]
    public void The_shadow_slot_is_independent_of_the_active_one()
    {
        var holder = new ModelHolder();
        var active = Serving("aaaaaaaaaaaa");
        var shadow = Serving("cccccccccccc");
        holder.ExchangeActive(active);
        holder.ExchangeShadow(shadow);
        Assert.Multiple(() =>
        {
            Assert.That(holder.Active, Is.SameAs(active));
            Assert.That(holder.Shadow, Is.SameAs(shadow));
            Assert.That(holder.ExchangeShadow(null), Is.SameAs(shadow));
            Assert.That(holder.Shadow, Is.Null);
            Assert.That(holder.Active, Is.SameAs(active));
        });
    }
}

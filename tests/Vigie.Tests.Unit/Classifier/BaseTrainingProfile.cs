using Vigie.Web.Classifier;

namespace Vigie.Tests.Unit.Classifier;

/// <summary>The vendored data and the out-of-distribution check of the base model, as the app builds them.</summary>
internal static class BaseTrainingProfile
{
    public static readonly PenguinDataSet Data = PenguinDataSet.Load(Path.Combine(AppContext.BaseDirectory, "Data", "penguins.csv"));

    private static readonly Lazy<(IReadOnlyList<PenguinRow> Train, IReadOnlyList<PenguinRow> HeldOut)> Split = new(() => SpeciesModelTrainer.SplitRows(Data));

    public static IReadOnlyList<PenguinRow> TrainingRows => Split.Value.Train;

    public static IReadOnlyList<PenguinRow> HeldOutRows => Split.Value.HeldOut;

    /// <summary>The check with the default margin of <see cref="HonestyOptions"/>.</summary>
    public static OutOfDistributionCheck Check { get; } = new(TrainingProfile.Of(SpeciesModelTrainer.SplitRows(Data).Train), new HonestyOptions().OutOfDistributionMargin);
}

namespace Vigie.Web.Classifier;

/// <summary>The penguin species the model distinguishes, spelled as they appear in the API, CSV and database.</summary>
public static class Species
{
    public const string Adelie = "Adelie";
    public const string Chinstrap = "Chinstrap";
    public const string Gentoo = "Gentoo";

    /// <summary>All species in the order of the probability vector.</summary>
    public static readonly IReadOnlyList<string> All = [Adelie, Chinstrap, Gentoo];

    /// <summary>The name of the probability of <paramref name="species"/>: its column in <c>predictions</c> and in a batch's results CSV.</summary>
    public static string ProbabilityName(string species) => "probability_" + species.ToLowerInvariant();

    /// <summary>The position of <paramref name="species"/> (canonical spelling) in <see cref="All"/>.</summary>
    public static int IndexOf(string species) => species switch
    {
        Adelie => 0,
        Chinstrap => 1,
        Gentoo => 2,
        _ => throw new ArgumentException($"{species} is not a species Vigie knows.", nameof(species)),
    };

    /// <summary>Returns the canonical spelling of <paramref name="value"/> (case-insensitive), or null when it is no species.</summary>
    public static string? Normalize(string? value) =>
        All.FirstOrDefault(species => string.Equals(species, value?.Trim(), StringComparison.OrdinalIgnoreCase));
}

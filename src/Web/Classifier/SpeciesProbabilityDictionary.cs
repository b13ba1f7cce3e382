using System.Diagnostics.CodeAnalysis;

namespace Vigie.Web.Classifier;

/// <summary>
/// The probability of each species, in the order of <see cref="Species.All"/>, read by species name. Immutable, and one
/// small array where a <see cref="Dictionary{TKey,TValue}"/> allocated its buckets and entries for every prediction: a
/// batch of 100,000 rows made 100,000 of them for the collector, and every API answer copied its own.
/// </summary>
public sealed class SpeciesProbabilityDictionary : IReadOnlyDictionary<string, double>
{
    private readonly double[] _values;

    /// <param name="values">One probability per species, in the order of <see cref="Species.All"/>; kept, not copied.</param>
    public SpeciesProbabilityDictionary(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != Species.All.Count)
        {
            throw new ArgumentException($"Expected {Species.All.Count} probabilities, got {values.Length}.", nameof(values));
        }
        _values = values;
    }

    public double this[string key] => _values[Species.IndexOf(key)];

    public IEnumerable<string> Keys => Species.All;

    public IEnumerable<double> Values => _values;

    public int Count => _values.Length;

    public bool ContainsKey(string key) => Species.All.Contains(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value)
    {
        var known = ContainsKey(key);
        value = known ? this[key] : 0;
        return known;
    }

    public IEnumerator<KeyValuePair<string, double>> GetEnumerator()
    {
        for (var i = 0; i < _values.Length; i++)
        {
            yield return new KeyValuePair<string, double>(Species.All[i], _values[i]);
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

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

    /// <exception cref="KeyNotFoundException">When <paramref name="key"/> is not a species Vigie knows (as a dictionary would).</exception>
    public double this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"{key} is not a species Vigie knows.");

    public IEnumerable<string> Keys => Species.All;

    public IEnumerable<double> Values => _values;

    public int Count => _values.Length;

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value)
    {
        var index = IndexOf(key);
        value = index >= 0 ? _values[index] : 0;
        return index >= 0;
    }

    private static int IndexOf(string key)
    {
        for (var i = 0; i < Species.All.Count; i++)
        {
            if (string.Equals(Species.All[i], key, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
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

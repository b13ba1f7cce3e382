using YamlDotNet.RepresentationModel;

namespace Vigie.Tests.Stack.Compose;

/// <summary>
/// YAML as plain values (string / list / dictionary), the way Compose sees it: aliases resolved, merge keys
/// (<c>&lt;&lt;: *defaults</c>) applied with the explicit keys of a mapping winning, duplicate keys rejected.
/// Scalars stay strings: Compose interpolates them before it types them.
/// </summary>
internal static class YamlTree
{
    public static object? Load(string path) => Parse(File.ReadAllText(path), path);

    public static object? Parse(string text, string name = "yaml")
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new InvalidDataException($"{name}: {e.Message}", e);
        }
        return stream.Documents.Count == 0 ? null : ToPlain(stream.Documents[0].RootNode);
    }

    /// <summary>Every scalar of the document (keys and values) with its path, e.g. <c>services.web.image</c>.</summary>
    public static IEnumerable<(string Path, string Value)> Scalars(object? node, string path = "")
    {
        switch (node)
        {
            case string s:
                yield return (path, s);
                break;
            case Dictionary<string, object?> map:
                foreach (var (key, value) in map)
                {
                    var child = path.Length == 0 ? key : $"{path}.{key}";
                    yield return (child + " (key)", key);
                    foreach (var scalar in Scalars(value, child))
                    {
                        yield return scalar;
                    }
                }
                break;
            case List<object?> list:
                for (var i = 0; i < list.Count; i++)
                {
                    foreach (var scalar in Scalars(list[i], $"{path}[{i}]"))
                    {
                        yield return scalar;
                    }
                }
                break;
            default:
                break;
        }
    }

    private static object? ToPlain(YamlNode node) => node switch
    {
        YamlScalarNode scalar => scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL"
            ? null
            : scalar.Value ?? string.Empty,
        YamlSequenceNode sequence => sequence.Children.Select(ToPlain).ToList(),
        YamlMappingNode mapping => ToMap(mapping),
        _ => throw new InvalidDataException($"Unsupported YAML node {node.GetType().Name} at {node.Start}"),
    };

    private static Dictionary<string, object?> ToMap(YamlMappingNode mapping)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        var merges = new List<YamlNode>();
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = keyNode is YamlScalarNode scalar ? scalar.Value ?? string.Empty : throw new InvalidDataException($"Non-scalar key at {keyNode.Start}");
            if (key == "<<" && keyNode is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain })
            {
                merges.Add(valueNode);
                continue;
            }
            if (!map.TryAdd(key, ToPlain(valueNode)))
            {
                throw new InvalidDataException($"Duplicate key '{key}' at {keyNode.Start}");
            }
        }
        // YAML merge keys: explicit keys win, then the merged mappings in order.
        foreach (var merge in merges)
        {
            var sources = merge is YamlSequenceNode many ? many.Children.ToList() : [merge];
            foreach (var source in sources)
            {
                if (ToPlain(source) is not Dictionary<string, object?> merged)
                {
                    throw new InvalidDataException($"'<<' at {merge.Start} does not merge a mapping");
                }
                foreach (var (key, value) in merged)
                {
                    map.TryAdd(key, value);
                }
            }
        }
        return map;
    }
}

/// <summary>Typed access to plain YAML values, with messages that say where a value was missing.</summary>
internal static class YamlValues
{
    public static Dictionary<string, object?>? AsMap(this object? value) => value as Dictionary<string, object?>;

    public static List<object?> AsList(this object? value) => value as List<object?> ?? [];

    public static object? At(this object? value, params string[] path)
    {
        foreach (var key in path)
        {
            if (value is not Dictionary<string, object?> map || !map.TryGetValue(key, out value))
            {
                return null;
            }
        }
        return value;
    }

    public static string? StringAt(this object? value, params string[] path) => value.At(path) as string;

    /// <summary>A Compose list-or-dict (environment, labels...) as pairs; list items are <c>KEY=VALUE</c>.</summary>
    public static IEnumerable<(string Key, string? Value)> AsPairs(this object? value)
    {
        switch (value)
        {
            case Dictionary<string, object?> map:
                foreach (var (key, item) in map)
                {
                    yield return (key, item as string);
                }
                break;
            case List<object?> list:
                foreach (var item in list.OfType<string>())
                {
                    var equals = item.IndexOf('=', StringComparison.Ordinal);
                    yield return equals < 0 ? (item, null) : (item[..equals], item[(equals + 1)..]);
                }
                break;
            default:
                break;
        }
    }

    /// <summary>A string or list of strings (command, entrypoint, healthcheck test) as a list.</summary>
    public static IReadOnlyList<string> AsStrings(this object? value) => value switch
    {
        string s => [s],
        List<object?> list => list.Select(item => item as string ?? string.Empty).ToList(),
        _ => [],
    };
}

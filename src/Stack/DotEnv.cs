namespace Vigie.Stack;

/// <summary>Reads the repository's committed <c>.env</c> (KEY=VALUE lines, # comments) so the native stack uses the same ports as compose.</summary>
public static class DotEnv
{
    public static IReadOnlyDictionary<string, string> Read(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return values;
        }
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (line.Length == 0 || line.StartsWith('#') || equals <= 0)
            {
                continue;
            }
            values[line[..equals].Trim()] = line[(equals + 1)..].Trim().Trim('"');
        }
        return values;
    }
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Vigie.Tests.Stack.Compose;

/// <summary>
/// The repository's <c>.env</c> as Compose reads it, and Compose's variable interpolation
/// (<c>$$</c>, <c>$VAR</c>, <c>${VAR}</c>, <c>${VAR:-default}</c>, <c>${VAR-default}</c>, <c>${VAR:?err}</c>, <c>${VAR?err}</c>).
/// Only the file counts here, never the test process's environment, so a variable missing from <c>.env</c> is caught
/// even on a machine that happens to export it.
/// </summary>
internal sealed partial class EnvFile
{
    private EnvFile(Dictionary<string, string> values, List<string> problems)
    {
        Values = values;
        Problems = problems;
    }

    public IReadOnlyDictionary<string, string> Values { get; }

    /// <summary>Lines Compose would misread: malformed lines and keys defined twice.</summary>
    public IReadOnlyList<string> Problems { get; }

    public static EnvFile Load(string path) => Parse(File.ReadAllLines(path));

    public static EnvFile Parse(IEnumerable<string> lines)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var problems = new List<string>();
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var match = EnvLine().Match(line);
            if (!match.Success)
            {
                problems.Add($".env line {number} is not KEY=VALUE: '{line}'");
                continue;
            }
            var key = match.Groups["key"].Value;
            var value = match.Groups["value"].Value.Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }
            if (!values.TryAdd(key, value))
            {
                problems.Add($".env line {number} defines {key} a second time");
            }
        }
        return new EnvFile(values, problems);
    }

    /// <summary>The variables a Compose string refers to, with the default it gives (null when none).</summary>
    public static IEnumerable<(string Name, string? Default)> References(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var references = new List<(string, string?)>();
        Scan(text, (name, op, argument) =>
        {
            references.Add((name, op is ":-" or "-" ? argument : null));
            return string.Empty;
        });
        return references;
    }

    /// <summary>
    /// <paramref name="text"/> with every variable replaced from <c>.env</c>; throws naming the variable when one is
    /// neither defined nor defaulted.
    /// </summary>
    public string Interpolate(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Scan(text, (name, op, argument) =>
        {
            var defined = Values.TryGetValue(name, out var value);
            return op switch
            {
                ":-" => defined && value!.Length > 0 ? value : Interpolate(argument),
                "-" => defined ? value! : Interpolate(argument),
                ":?" when !defined || value!.Length == 0 => throw new KeyNotFoundException($"${{{name}}} is required ({argument}) but not set in .env"),
                "?" when !defined => throw new KeyNotFoundException($"${{{name}}} is required ({argument}) but not defined in .env"),
                _ when defined => value!,
                _ => throw new KeyNotFoundException($"${{{name}}} is used in '{text}' but not defined in .env"),
            };
        });
    }

    /// <summary>Interpolates, or returns null and the reason when a variable is missing.</summary>
    public string? TryInterpolate(string text, out string? problem)
    {
        try
        {
            problem = null;
            return Interpolate(text);
        }
        catch (KeyNotFoundException e)
        {
            problem = e.Message;
            return null;
        }
    }

    private static string Scan(string text, Func<string, string, string, string> substitute)
    {
        var result = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] != '$')
            {
                result.Append(text[i++]);
                continue;
            }
            if (i + 1 < text.Length && text[i + 1] == '$')
            {
                result.Append('$');
                i += 2;
                continue;
            }
            if (i + 1 < text.Length && text[i + 1] == '{')
            {
                var close = FindClose(text, i + 2);
                if (close < 0)
                {
                    throw new FormatException($"Unterminated '${{' in '{text}'");
                }
                var body = text[(i + 2)..close];
                var braced = BracedVariable().Match(body);
                if (!braced.Success)
                {
                    throw new FormatException($"Invalid substitution '${{{body}}}' in '{text}'");
                }
                result.Append(substitute(braced.Groups["name"].Value, braced.Groups["op"].Value, braced.Groups["arg"].Value));
                i = close + 1;
                continue;
            }
            var bare = BareVariable().Match(text, i + 1);
            if (bare.Success && bare.Index == i + 1)
            {
                result.Append(substitute(bare.Value, string.Empty, string.Empty));
                i += 1 + bare.Length;
                continue;
            }
            result.Append('$');
            i++;
        }
        return result.ToString();
    }

    private static int FindClose(string text, int from)
    {
        var depth = 0;
        for (var i = from; i < text.Length; i++)
        {
            if (text[i] == '{')
            {
                depth++;
            }
            else if (text[i] == '}' && depth-- == 0)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>A size such as <c>512M</c>, <c>1.5g</c>, <c>64MiB</c> or <c>1024</c> (bytes) in bytes, as Compose reads memory limits.</summary>
    public static long ParseBytes(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = ByteSize().Match(text.Trim());
        if (!match.Success)
        {
            throw new FormatException($"'{text}' is not a size such as 512M");
        }
        var number = double.Parse(match.Groups["number"].Value, CultureInfo.InvariantCulture);
        var multiplier = char.ToLowerInvariant(match.Groups["unit"].Value.FirstOrDefault('b')) switch
        {
            'k' => 1L << 10,
            'm' => 1L << 20,
            'g' => 1L << 30,
            't' => 1L << 40,
            _ => 1L,
        };
        return (long)(number * multiplier);
    }

    [GeneratedRegex(@"^(?<key>[A-Za-z_][A-Za-z0-9_]*)=(?<value>.*)$")]
    private static partial Regex EnvLine();

    [GeneratedRegex(@"^(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?<op>:-|-|:\?|\?)(?<arg>.*))?$", RegexOptions.Singleline)]
    private static partial Regex BracedVariable();

    [GeneratedRegex(@"[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex BareVariable();

    [GeneratedRegex(@"^(?<number>\d+(?:\.\d+)?)\s*(?<unit>[bkmgtBKMGT]?(?:i?[bB])?)$")]
    private static partial Regex ByteSize();
}

using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vigie.Tests.Stack.Compose;

/// <summary>One Dockerfile instruction (continuations joined, comments dropped) and the stage it belongs to.</summary>
internal sealed record Instruction(int Line, string Keyword, string Arguments, int Stage)
{
    /// <summary>Leading <c>--flag=value</c> options (COPY --from, --chown...).</summary>
    public IReadOnlyDictionary<string, string> Flags => Split().Flags;

    /// <summary>The words after the flags (exec/JSON form understood).</summary>
    public IReadOnlyList<string> Words => Split().Words;

    private (Dictionary<string, string> Flags, List<string> Words) Split()
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        var rest = Arguments.Trim();
        while (rest.StartsWith("--", StringComparison.Ordinal))
        {
            var end = rest.IndexOfAny([' ', '\t']);
            var flag = end < 0 ? rest : rest[..end];
            var equals = flag.IndexOf('=', StringComparison.Ordinal);
            flags[equals < 0 ? flag[2..] : flag[2..equals]] = equals < 0 ? "true" : flag[(equals + 1)..];
            rest = end < 0 ? string.Empty : rest[end..].TrimStart();
        }
        if (rest.StartsWith('['))
        {
            try
            {
                return (flags, JsonSerializer.Deserialize<List<string>>(rest) ?? []);
            }
            catch (JsonException)
            {
                // Not JSON: Docker falls back to the shell form.
            }
        }
        return (flags, rest.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).ToList());
    }
}

/// <summary>A Dockerfile split into instructions.</summary>
internal sealed partial class Dockerfile
{
    private Dockerfile(List<Instruction> instructions) => Instructions = instructions;

    public IReadOnlyList<Instruction> Instructions { get; }

    public IEnumerable<Instruction> Froms => Instructions.Where(i => i.Keyword == "FROM");

    public int FinalStage => Instructions.Max(i => i.Stage);

    public static Dockerfile Load(string path) => Parse(File.ReadAllLines(path));

    public static Dockerfile Parse(IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var instructions = new List<Instruction>();
        var stage = -1;
        var current = new StringBuilder();
        var start = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            var trimmed = line.Trim();
            if (trimmed.StartsWith('#') || (trimmed.Length == 0 && current.Length == 0))
            {
                continue;
            }
            if (current.Length == 0)
            {
                start = i + 1;
            }
            var continued = trimmed.EndsWith('\\');
            current.Append(continued ? trimmed[..^1] : trimmed).Append(' ');
            if (continued)
            {
                continue;
            }
            var text = current.ToString().Trim();
            current.Clear();
            if (text.Length == 0)
            {
                continue;
            }
            var match = InstructionLine().Match(text);
            var keyword = match.Groups["keyword"].Value.ToUpperInvariant();
            if (keyword == "FROM")
            {
                stage++;
            }
            instructions.Add(new Instruction(start, keyword, match.Groups["arguments"].Value, stage));
        }
        return new Dockerfile(instructions);
    }

    /// <summary>Names declared by ARG or ENV instructions (both <c>ENV a=b c=d</c> and <c>ENV a b</c>).</summary>
    public static IEnumerable<string> DeclaredNames(Instruction instruction)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        if (instruction.Keyword == "ARG")
        {
            return [instruction.Arguments.Trim().Split('=', 2)[0]];
        }
        if (instruction.Keyword != "ENV")
        {
            return [];
        }
        var text = instruction.Arguments.Trim();
        var first = text.Split([' ', '\t', '='], 2)[0];
        return text.Length > first.Length && text[first.Length] == '='
            ? EnvPair().Matches(text).Select(m => m.Groups["name"].Value).ToList()
            : [first];
    }

    [GeneratedRegex(@"^(?<keyword>[A-Za-z]+)\s*(?<arguments>.*)$", RegexOptions.Singleline)]
    private static partial Regex InstructionLine();

    [GeneratedRegex(@"(?<name>[A-Za-z_][A-Za-z0-9_.-]*)=(?:""(?:[^""\\]|\\.)*""|'[^']*'|\S*)")]
    private static partial Regex EnvPair();
}

/// <summary>
/// .dockerignore semantics (moby/patternmatcher): patterns relative to the context root, <c>*</c> and <c>?</c> within a
/// path segment, <c>**</c> across segments, <c>!</c> re-includes, the last matching pattern wins, and a pattern that
/// matches a directory matches everything under it.
/// </summary>
internal sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Exclude, string Text)> _patterns = [];

    private DockerIgnore(IEnumerable<string> lines)
    {
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var exclude = !line.StartsWith('!');
            var pattern = (exclude ? line : line[1..].Trim()).Replace('\\', '/').Trim('/');
            if (pattern.StartsWith("./", StringComparison.Ordinal))
            {
                pattern = pattern[2..];
            }
            _patterns.Add((new Regex(ToRegex(pattern), RegexOptions.CultureInvariant), exclude, line));
        }
    }

    public static DockerIgnore Load(string path) => new(File.ReadAllLines(path));

    /// <summary>Whether <paramref name="path"/> (relative, with /) stays out of the build context.</summary>
    public bool Excludes(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var segments = path.Trim('/').Split('/');
        var candidates = Enumerable.Range(1, segments.Length).Select(n => string.Join('/', segments.Take(n))).ToList();
        var excluded = false;
        foreach (var (pattern, exclude, _) in _patterns)
        {
            if (candidates.Any(pattern.IsMatch))
            {
                excluded = exclude;
            }
        }
        return excluded;
    }

    private static string ToRegex(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                i++;
                if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                {
                    i++;
                    regex.Append("(?:.*/)?");
                }
                else
                {
                    regex.Append(".*");
                }
            }
            else if (c == '*')
            {
                regex.Append("[^/]*");
            }
            else if (c == '?')
            {
                regex.Append("[^/]");
            }
            else
            {
                regex.Append(Regex.Escape(pattern[i..(i + 1)]));
            }
        }
        return regex.Append('$').ToString();
    }
}

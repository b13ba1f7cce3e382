using Vigie.Testing;

namespace Vigie.Tests.Stack.Compose;

/// <summary>The repository's docker-compose.yml (merge keys applied) with its .env.</summary>
internal sealed class ComposeFile
{
    private static readonly Lazy<ComposeFile> Repository = new(() => Load(Infrastructure.RepositoryRoot));

    private ComposeFile(string directory, Dictionary<string, object?> root, EnvFile env)
    {
        Folder = directory;
        Root = root;
        Env = env;
        Services = (root.At("services").AsMap() ?? throw new InvalidDataException("docker-compose.yml has no services"))
            .ToDictionary(s => s.Key, s => s.Value.AsMap() ?? throw new InvalidDataException($"service {s.Key} is not a mapping"), StringComparer.Ordinal);
    }

    /// <summary>The repository's compose file (parsed once).</summary>
    public static ComposeFile Current => Repository.Value;

    public string Folder { get; }

    public Dictionary<string, object?> Root { get; }

    public EnvFile Env { get; }

    public IReadOnlyDictionary<string, Dictionary<string, object?>> Services { get; }

    /// <summary>Services started by a plain <c>docker compose up</c> (no <c>profiles:</c>).</summary>
    public IEnumerable<string> DefaultServices => Services.Keys.Where(name => Profiles(name).Count == 0);

    public static ComposeFile Load(string directory)
    {
        var root = YamlTree.Load(Path.Combine(directory, "docker-compose.yml")).AsMap() ?? throw new InvalidDataException("docker-compose.yml is not a mapping");
        return new ComposeFile(directory, root, EnvFile.Load(Path.Combine(directory, ".env")));
    }

    public IReadOnlyList<string> Profiles(string service) => Services[service].At("profiles").AsStrings();

    /// <summary>A value of <paramref name="service"/> interpolated from .env; null when the key is absent.</summary>
    public string? Resolved(string service, params string[] path) => Services[service].StringAt(path) is { } raw ? Env.Interpolate(raw) : null;

    /// <summary>The service's volumes in short or long syntax.</summary>
    public IEnumerable<Mount> Mounts(string service)
    {
        foreach (var item in Services[service].At("volumes").AsList())
        {
            if (item is string text)
            {
                yield return Mount.Parse(text);
            }
            else if (item.AsMap() is { } map)
            {
                var source = map.StringAt("source") ?? string.Empty;
                var type = map.StringAt("type") ?? (Mount.LooksLikeHostPath(source) ? "bind" : "volume");
                var readOnly = map.StringAt("read_only") is "true" or "True";
                yield return new Mount(source, map.StringAt("target") ?? string.Empty, readOnly ? ["ro"] : [], type == "bind", $"{source}:{map.StringAt("target")}");
            }
        }
    }

    /// <summary>The service's <c>ports:</c> entries, each as written (long syntax rendered as host_ip:published:target).</summary>
    public IEnumerable<string> Ports(string service) =>
        Services[service].At("ports").AsList().Select(item => item switch
        {
            string text => text,
            Dictionary<string, object?> map => $"{map.StringAt("host_ip") ?? string.Empty}:{map.StringAt("published")}:{map.StringAt("target")}",
            _ => string.Empty,
        });

    /// <summary>The secrets a service mounts (short or long syntax).</summary>
    public IEnumerable<string> SecretsOf(string service) =>
        Services[service].At("secrets").AsList().Select(item => item as string ?? item.StringAt("source") ?? string.Empty);
}

/// <summary>One volume entry of a service.</summary>
internal sealed record Mount(string Source, string Target, IReadOnlyList<string> Options, bool IsBind, string Text)
{
    public bool ReadOnly => Options.Contains("ro");

    public static bool LooksLikeHostPath(string source) => source.StartsWith('.') || source.StartsWith('/') || source.StartsWith('~');

    public static Mount Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':');
        return parts.Length switch
        {
            1 => new Mount(string.Empty, parts[0], [], false, text),
            2 => new Mount(parts[0], parts[1], [], LooksLikeHostPath(parts[0]), text),
            _ => new Mount(parts[0], parts[1], parts[2].Split(','), LooksLikeHostPath(parts[0]), text),
        };
    }
}

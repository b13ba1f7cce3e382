using Vigie.Testing;

namespace Vigie.Tests.Stack.Compose;

/// <summary>
/// The stack's YAML through yamllint: above all duplicate keys, which docker-compose 1.29 and Prometheus accept
/// silently (the last one wins) and which hide real mistakes.
/// </summary>
public sealed class YamlLintTests
{
    /// <summary>
    /// Correctness rules at error level; pure style (line length, document start, comment spacing) is left to the
    /// authors. <c>truthy</c> ignores keys so that GitHub's <c>on:</c> is fine, but catches yes/no/on/off values.
    /// </summary>
    private const string Config = """
        rules:
          key-duplicates: enable
          truthy:
            allowed-values: ["true", "false"]
            check-keys: false
          trailing-spaces: enable
          new-line-at-end-of-file: enable
          new-lines: {type: unix}
          indentation: {spaces: consistent, indent-sequences: whatever}
          colons: enable
          commas: enable
          brackets: enable
          braces: enable
          hyphens: enable
          empty-lines: {max: 2}
          comments-indentation: disable
        """;

    private static readonly string[] RequiredFiles =
    [
        "docker-compose.yml",
        "docker-stack.yml",
        "prometheus/prometheus.yml",
        "prometheus/prometheus.swarm.yml",
        "prometheus/blackbox.yml",
        "grafana/provisioning/datasources/datasources.yml",
        "grafana/provisioning/dashboards/dashboards.yml",
        ".github/workflows/ci.yml",
    ];

    private static List<string> StackYamlFiles()
    {
        var root = Infrastructure.RepositoryRoot;
        IEnumerable<string> Find(string directory, string pattern, SearchOption option) =>
            Directory.Exists(Path.Combine(root, directory))
                ? Directory.EnumerateFiles(Path.Combine(root, directory), pattern, option).Select(f => Path.GetRelativePath(root, f))
                : [];
        return new[] { "docker-compose.yml", "docker-stack.yml" }
            .Concat(Find("prometheus", "*.yml", SearchOption.TopDirectoryOnly))
            .Concat(Find("grafana/provisioning", "*.yml", SearchOption.AllDirectories))
            .Concat(Find(".github/workflows", "*.yml", SearchOption.TopDirectoryOnly))
            .Select(f => f.Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static async Task<ProcessRunner.Result> YamllintAsync(string workingDirectory, IEnumerable<string> files)
    {
        var yamllint = Tools.Installed("yamllint", "yamllint");
        using var config = Tools.CopyOf();
        config.Write(".yamllint.yml", Config);
        return await ProcessRunner.RunAsync(yamllint, ["--strict", "--format", "parsable", "--config-file", config[".yamllint.yml"], .. files], workingDirectory);
    }

    [Test]
    public async Task The_stack_yaml_passes_yamllint_with_duplicate_keys_checked()
    {
        var files = StackYamlFiles();
        Assert.That(files, Is.SupersetOf(RequiredFiles), "the files to lint were not all found");
        var result = await YamllintAsync(Infrastructure.RepositoryRoot, files);
        Assert.That(result.ExitCode, Is.Zero, $"yamllint found problems in {string.Join(", ", files)}:\n{result.All}");
        Assert.That(result.Output.Trim(), Is.Empty, "yamllint warnings:\n" + result.Output);
    }

    [Test]
    public async Task Yamllint_with_this_configuration_rejects_a_duplicate_key()
    {
        using var copy = Tools.CopyOf("docker-compose.yml");
        // A second `image:` in the db service: docker-compose 1.29 would take the last one without a word.
        var lines = File.ReadAllLines(copy["docker-compose.yml"]).ToList();
        var image = lines.FindIndex(l => l.StartsWith("    image: ${POSTGRES_IMAGE}", StringComparison.Ordinal));
        Assert.That(image, Is.GreaterThan(0), "db's image line not found");
        lines.Insert(image + 1, "    image: postgres:latest");
        File.WriteAllLines(copy["docker-compose.yml"], lines);

        var result = await YamllintAsync(copy.Path, ["docker-compose.yml"]);
        Assert.That(result.ExitCode, Is.Not.Zero, result.All);
        Assert.That(result.Output, Does.Contain("key-duplicates").And.Contain($":{image + 2}:"), result.All);
    }
}

using Vigie.Testing;

namespace Vigie.Tests.Stack.Compose;

/// <summary>
/// docker-compose.yml against the compose-spec JSON schema and dclint's rules (dclint 3.1.0, pinned in .ci/tools,
/// works offline). docker-compose 1.29 predates parts of the spec; dclint knows the current schema.
/// </summary>
public sealed class DclintTests
{
    /// <summary>dclint rules that are wrong for this file, each with the reason.</summary>
    private static readonly (string Rule, string Reason)[] DisabledRules =
    [
        ("no-build-and-image", "web is built AND named: `image:` tags the local build as vigie-web:${VIGIE_VERSION}"),
        ("no-unbound-port-interfaces", "the ports are bound to ${BIND_ADDRESS:-127.0.0.1}, a variable dclint does not expand"),
        ("service-image-require-explicit-tag", "images are whole references from .env (${POSTGRES_IMAGE}...), which dclint does not expand; ComposeExposureTests checks what they resolve to is pinned"),
        ("require-project-name-field", "the project name comes from COMPOSE_PROJECT_NAME in .env, which docker-compose 1.29 also reads"),
        ("service-keys-order", "keys follow the x-defaults merge and are grouped by topic, not by dclint's order"),
        ("services-alphabetical-order", "services are listed in start-up order (web, db, prometheus...), not alphabetically"),
    ];

    private static async Task<ProcessRunner.Result> DclintAsync(string file, string workingDirectory)
    {
        var dclint = Tools.Node("dclint");
        var arguments = new List<string> { file, "--no-color", "--max-warnings", "0" };
        foreach (var (rule, _) in DisabledRules)
        {
            arguments.AddRange(["--disable-rule", rule]);
        }
        return await ProcessRunner.RunAsync(dclint, arguments, workingDirectory);
    }

    [Test]
    public async Task The_compose_file_passes_dclint_and_the_compose_spec_schema()
    {
        var result = await DclintAsync("docker-compose.yml", Infrastructure.RepositoryRoot);
        Assert.That(result.ExitCode, Is.Zero,
            $"dclint (rules disabled: {string.Join(", ", DisabledRules.Select(r => r.Rule))}) reported:\n{result.All}");
    }

    [Test]
    public async Task Dclint_rejects_a_key_the_compose_spec_does_not_know()
    {
        using var copy = Tools.CopyOf("docker-compose.yml");
        var text = File.ReadAllText(copy["docker-compose.yml"]);
        Assert.That(text, Does.Contain("\n    image: ${POSTGRES_IMAGE}"), "db's image line not found");
        File.WriteAllText(copy["docker-compose.yml"], text.Replace("\n    image: ${POSTGRES_IMAGE}", "\n    imgae: ${POSTGRES_IMAGE}", StringComparison.Ordinal));

        var result = await DclintAsync("docker-compose.yml", copy.Path);
        Assert.That(result.ExitCode, Is.Not.Zero, result.All);
        Assert.That(result.All, Does.Contain("invalid-schema").And.Contain("/services/db"), result.All);
    }
}

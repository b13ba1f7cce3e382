using System.Globalization;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Compose;

/// <summary>
/// docker-compose.yml through a real Compose parser (Debian's docker-compose 1.29), in a temporary copy holding
/// the compose file, .env and dummy secret files, with an empty environment: only .env may supply variables.
/// </summary>
public sealed class ComposeParserTests
{
    private static async Task<ProcessRunner.Result> DockerComposeAsync(TempCopy copy, params string[] arguments)
    {
        var compose = Tools.Installed("docker-compose", "docker-compose");
        var env = Tools.Installed("env", "coreutils");
        // env -i: a variable the test runner happens to export must not hide one missing from .env.
        return await ProcessRunner.RunAsync(env,
            ["-i", "PATH=/usr/local/bin:/usr/bin:/bin", $"HOME={copy.Path}", "LANG=C.UTF-8", compose, .. arguments],
            copy.Path);
    }

    private static TempCopy CopyWithDummySecrets()
    {
        var copy = Tools.CopyOf("docker-compose.yml", ".env");
        copy.Write("secrets/db_password", "not-a-real-password\n");
        copy.Write("secrets/grafana_admin_password", "not-a-real-password\n");
        return copy;
    }

    [TestCase(null, TestName = "Docker_compose_accepts_the_default_stack_without_warnings")]
    [TestCase("uptime", TestName = "Docker_compose_accepts_the_uptime_profile_without_warnings")]
    public async Task Docker_compose_accepts_the_file(string? profile)
    {
        using var copy = CopyWithDummySecrets();
        string[] options = profile is null ? [] : ["--profile", profile];
        var result = await DockerComposeAsync(copy, [.. options, "config", "--quiet"]);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, $"docker-compose {string.Join(' ', options)} config -q failed:\n{result.All}");
            Assert.That(result.All, Does.Not.Contain("is not set"), "a variable used in docker-compose.yml is missing from .env:\n" + result.All);
            Assert.That(result.All, Does.Not.Contain("WARNING").IgnoreCase, result.All);
        });
    }

    [Test]
    public async Task Docker_compose_reports_a_variable_missing_from_env()
    {
        // The check above only means something if the parser does warn: drop one variable and look for the warning.
        using var copy = CopyWithDummySecrets();
        File.WriteAllLines(copy[".env"], File.ReadAllLines(copy[".env"]).Where(l => !l.StartsWith("DB_NAME=", StringComparison.Ordinal)));
        var result = await DockerComposeAsync(copy, "config", "--quiet");
        Assert.That(result.All, Does.Contain("DB_NAME").And.Contain("not set"), result.All);
    }

    [Test]
    public async Task Docker_compose_resolves_images_and_limits_as_these_tests_do()
    {
        using var copy = CopyWithDummySecrets();
        var result = await DockerComposeAsync(copy, "--profile", "uptime", "config");
        Assert.That(result.ExitCode, Is.Zero, result.All);
        var resolved = YamlTree.Parse(result.Output, "docker-compose config").At("services").AsMap();
        Assert.That(resolved, Is.Not.Null, result.Output);
        var compose = ComposeFile.Current;
        var problems = new List<string>();
        foreach (var name in compose.Services.Keys)
        {
            var service = resolved!.GetValueOrDefault(name);
            if (service is null)
            {
                problems.Add($"docker-compose config has no service {name}");
                continue;
            }
            var expectations = new (string What, string? Ours, string? Theirs)[]
            {
                ("image", compose.Resolved(name, "image"), service.StringAt("image")),
                ("memory", Bytes(compose.Resolved(name, "deploy", "resources", "limits", "memory")), Bytes(service.StringAt("deploy", "resources", "limits", "memory"))),
                ("cpus", Cores(compose.Resolved(name, "deploy", "resources", "limits", "cpus")), Cores(service.StringAt("deploy", "resources", "limits", "cpus"))),
            };
            problems.AddRange(expectations.Where(e => e.Ours != e.Theirs).Select(e => $"service {name}: {e.What} is {e.Theirs ?? "(none)"} for docker-compose, {e.Ours ?? "(none)"} for these tests"));
        }
        Assert.That(problems, Is.Empty);
    }

    private static string? Bytes(string? size) => size is null ? null : EnvFile.ParseBytes(size).ToString(CultureInfo.InvariantCulture);

    private static string? Cores(string? cpus) =>
        decimal.TryParse(cpus, NumberStyles.Number, CultureInfo.InvariantCulture, out var cores) ? cores.ToString("0.###", CultureInfo.InvariantCulture) : cpus;
}

using System.Text.RegularExpressions;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Compose;

/// <summary>docker-compose.yml and .env: no secret in committed files, passwords as Compose secrets, no privilege gain.</summary>
public sealed partial class ComposeSecurityTests
{
    /// <summary>Services that may run as root, with the reason. Keep it minimal.</summary>
    private static readonly Dictionary<string, string> RootExceptions = new(StringComparer.Ordinal)
    {
        // The 1.x image's entrypoint chowns /app/data and drops nothing: it needs root. Opt-in profile only.
        ["uptime-kuma"] = "the Uptime Kuma 1.x image must start as root",
        // One-shot: chgrp/chmod of the bind-mounted logs/ folder so the non-root web container can write it.
        ["logs-init"] = "changing the group of the host's logs/ folder needs root (CHOWN and FOWNER only)",
    };

    private static ComposeFile Compose => ComposeFile.Current;

    [Test]
    public void The_env_file_holds_no_secret()
    {
        var secrets = Compose.Env.Values
            .Where(v => SecretName().IsMatch(v.Key) && v.Value.Length > 0 && !IsSecretFileReference(v.Key, v.Value))
            .Select(v => $".env sets {v.Key} to a value: passwords belong in secrets/ (generated, git-ignored), not in .env")
            .ToList();
        Assert.That(secrets, Is.Empty);
    }

    [Test]
    public void No_service_environment_carries_a_password()
    {
        var problems = new List<string>();
        foreach (var (name, service) in Compose.Services)
        {
            foreach (var (key, raw) in service.At("environment").AsPairs())
            {
                var value = raw is null ? string.Empty : Compose.Env.TryInterpolate(raw, out _) ?? raw;
                if (SecretName().IsMatch(key) && !IsSecretFileReference(key, value))
                {
                    problems.Add($"service {name}: environment {key} names a secret; use {key}_FILE (or __FILE) pointing at /run/secrets/<secret>");
                }
                if (PasswordInValue().IsMatch(value))
                {
                    problems.Add($"service {name}: environment {key} contains a password ('{PasswordInValue().Match(value).Value}...'); read it from /run/secrets instead");
                }
                if (CredentialsInUrl().IsMatch(value))
                {
                    problems.Add($"service {name}: environment {key} contains a URL with user:password@");
                }
            }
        }
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Every_declared_secret_is_a_file_under_the_secrets_folder()
    {
        var declared = Compose.Root.At("secrets").AsMap() ?? [];
        Assert.That(declared.Keys, Is.SupersetOf(new[] { "db_password", "grafana_admin_password" }), "top-level secrets:");
        var problems = declared
            .Where(s => s.Value.StringAt("file") is not { } file || !file.StartsWith("./secrets/", StringComparison.Ordinal) || file.Contains("..", StringComparison.Ordinal))
            .Select(s => $"secret {s.Key} must be `file: ./secrets/{s.Key}` (was {s.Value.StringAt("file") ?? "not a file"})")
            .ToList();
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void The_secrets_folder_is_git_ignored()
    {
        var lines = File.ReadAllLines(Path.Combine(Infrastructure.RepositoryRoot, ".gitignore")).Select(l => l.Trim()).ToList();
        var ignored = lines.FindLastIndex(l => l is "secrets/" or "/secrets/" or "secrets" or "/secrets" or "secrets/*" or "/secrets/*" or "secrets/**");
        var reincluded = lines.FindLastIndex(l => l.StartsWith('!') && l.Contains("secrets", StringComparison.Ordinal));
        Assert.That(ignored, Is.GreaterThanOrEqualTo(0), ".gitignore must ignore the generated secrets/ folder");
        Assert.That(reincluded, Is.LessThan(ignored), ".gitignore re-includes something under secrets/ after ignoring it");
    }

    [TestCase("db", "db_password", "POSTGRES_PASSWORD_FILE")]
    [TestCase("grafana", "grafana_admin_password", "GF_SECURITY_ADMIN_PASSWORD__FILE")]
    [TestCase("web", "db_password", null)]
    public void A_service_reads_its_password_from_a_compose_secret(string service, string secret, string? variable)
    {
        Assert.That(Compose.SecretsOf(service), Does.Contain(secret), $"service {service} must list `secrets: [{secret}]`");
        if (variable is not null)
        {
            var environment = Compose.Services[service].At("environment").AsPairs().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            Assert.That(environment.GetValueOrDefault(variable), Is.EqualTo($"/run/secrets/{secret}"), $"service {service}: environment {variable}");
        }
    }

    [Test]
    public void Every_secret_a_service_uses_is_declared_and_every_secret_file_variable_points_at_one_it_mounts()
    {
        var declared = (Compose.Root.At("secrets").AsMap() ?? []).Keys.ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (name, service) in Compose.Services)
        {
            var mounted = Compose.SecretsOf(name).ToHashSet(StringComparer.Ordinal);
            problems.AddRange(mounted.Where(s => !declared.Contains(s)).Select(s => $"service {name} uses secret {s}, which is not declared under the top-level secrets:"));
            foreach (var (key, value) in service.At("environment").AsPairs())
            {
                if (value is not null && value.StartsWith("/run/secrets/", StringComparison.Ordinal) && !mounted.Contains(value["/run/secrets/".Length..]))
                {
                    problems.Add($"service {name}: {key}={value}, but the service does not mount that secret");
                }
            }
        }
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Every_service_sets_no_new_privileges()
    {
        var problems = Compose.Services
            .Where(s => !s.Value.At("security_opt").AsStrings().Any(o => o is "no-new-privileges:true" or "no-new-privileges=true" or "no-new-privileges"))
            .Select(s => $"service {s.Key} lacks security_opt: [\"no-new-privileges:true\"]")
            .ToList();
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Every_service_runs_as_a_non_root_user_except_the_listed_ones()
    {
        var problems = new List<string>();
        foreach (var name in Compose.Services.Keys)
        {
            var user = Compose.Resolved(name, "user");
            var isRoot = user is null || user.Split(':')[0] is "" or "0" or "root";
            if (RootExceptions.ContainsKey(name))
            {
                if (!isRoot)
                {
                    problems.Add($"service {name} runs as '{user}': remove it from {nameof(RootExceptions)}");
                }
            }
            else if (isRoot)
            {
                problems.Add($"service {name} runs as {(user is null ? "the image's default user" : $"'{user}'")}: set a non-root `user:`");
            }
        }
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void The_logs_folder_one_shot_is_root_with_only_chown_and_fowner_and_web_waits_for_it()
    {
        var init = Compose.Services["logs-init"];
        Assert.Multiple(() =>
        {
            Assert.That(init.At("cap_drop").AsStrings(), Does.Contain("ALL"), "logs-init: cap_drop");
            Assert.That(init.At("cap_add").AsStrings(), Is.EquivalentTo(new[] { "CHOWN", "FOWNER" }), "logs-init: cap_add");
            Assert.That(init.StringAt("read_only"), Is.EqualTo("true").IgnoreCase, "logs-init: read_only");
            Assert.That(init.StringAt("restart"), Is.EqualTo("no"), "logs-init runs once");
            Assert.That(Compose.Services["web"].StringAt("depends_on", "logs-init", "condition"), Is.EqualTo("service_completed_successfully"));
        });
    }

    private static bool IsSecretFileReference(string key, string value) =>
        (key.EndsWith("_FILE", StringComparison.Ordinal) || key.EndsWith("__FILE", StringComparison.Ordinal))
        && value.StartsWith("/run/secrets/", StringComparison.Ordinal);

    [GeneratedRegex("(?i)PASSWORD|PASSWD|SECRET|TOKEN")]
    private static partial Regex SecretName();

    [GeneratedRegex(@"(?i)\b(password|passwd|pwd)\s*=\s*[^;\s]")]
    private static partial Regex PasswordInValue();

    [GeneratedRegex(@"://[^/\s:@]+:[^/\s@]+@")]
    private static partial Regex CredentialsInUrl();
}

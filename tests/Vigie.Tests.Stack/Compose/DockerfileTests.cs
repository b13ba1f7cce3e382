using System.Text.RegularExpressions;
using System.Xml.Linq;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Compose;

/// <summary>src/Web/Dockerfile and .dockerignore: small, cached, non-root, and nothing secret in the image or its context.</summary>
public sealed partial class DockerfileTests
{
    private const string DockerfilePath = "src/Web/Dockerfile";

    /// <summary>What `dotnet restore` may see: project, props and NuGet files, nothing that changes with the code.</summary>
    private static readonly Regex RestoreInput = RestoreInputPattern();

    private static Dockerfile Parsed => Dockerfile.Load(Path.Combine(Infrastructure.RepositoryRoot, DockerfilePath));

    private static DockerIgnore Ignore => DockerIgnore.Load(Path.Combine(Infrastructure.RepositoryRoot, ".dockerignore"));

    [Test]
    public void The_dockerfile_is_multi_stage_with_named_stages()
    {
        var froms = Parsed.Froms.ToList();
        Assert.That(froms, Has.Count.GreaterThanOrEqualTo(2), $"{DockerfilePath} needs a build stage and a runtime stage");
        var unnamed = froms.Where(f => f.Words.Count != 3 || !f.Words[1].Equals("AS", StringComparison.OrdinalIgnoreCase)).Select(f => $"line {f.Line}: FROM {f.Arguments}");
        Assert.That(unnamed, Is.Empty, "every stage needs a name (FROM image AS name)");
        Assert.That(froms.Select(f => f.Words[^1].ToUpperInvariant()), Is.Unique, "stage names");
    }

    [Test]
    public void The_final_stage_runs_as_a_non_root_user()
    {
        var dockerfile = Parsed;
        var user = dockerfile.Instructions.LastOrDefault(i => i.Stage == dockerfile.FinalStage && i.Keyword == "USER");
        Assert.That(user, Is.Not.Null, $"the final stage of {DockerfilePath} has no USER: the app would run as root");
        var name = user!.Arguments.Trim().Split(':')[0];
        Assert.That(name, Is.Not.AnyOf("root", "0", "${APP_UID:-0}"), $"line {user.Line}: USER {user.Arguments} is root");
    }

    [Test]
    public void The_runtime_stage_is_the_aspnet_runtime_on_glibc()
    {
        var final = Parsed.Froms.Last();
        Assert.That(ResolveFromArgs(final.Words[0]), Does.StartWith("mcr.microsoft.com/dotnet/aspnet:"), $"line {final.Line}: the runtime stage should be the ASP.NET Core runtime, not the SDK");
        Assert.That(ResolveFromArgs(final.Words[0]), Does.Not.Contain("alpine").IgnoreCase, $"line {final.Line}: ML.NET's native libraries need glibc, not musl");
    }

    [Test]
    public void The_dockerfile_adds_no_url()
    {
        var remote = Parsed.Instructions
            .Where(i => i.Keyword == "ADD" && i.Words.Take(i.Words.Count - 1).Any(w => RemoteSource().IsMatch(w)))
            .Select(i => $"line {i.Line}: ADD {i.Arguments}");
        Assert.That(remote, Is.Empty, "download in a RUN with a checksum, or COPY from the context");
    }

    [Test]
    public void No_env_or_arg_is_named_like_a_secret()
    {
        var secrets = Parsed.Instructions
            .SelectMany(i => Dockerfile.DeclaredNames(i).Where(n => SecretName().IsMatch(n)).Select(n => $"line {i.Line}: {i.Keyword} {n}"));
        Assert.That(secrets, Is.Empty, "build args and ENV end up in the image history: use a Compose secret at run time");
    }

    [Test]
    public void The_restore_layer_copies_only_project_files_before_dotnet_restore()
    {
        var dockerfile = Parsed;
        var restore = dockerfile.Instructions.FirstOrDefault(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet restore", StringComparison.Ordinal));
        Assert.That(restore, Is.Not.Null, $"{DockerfilePath} has no separate `RUN dotnet restore` step (layer caching)");
        var copied = CopiesBefore(dockerfile, restore!).ToList();
        Assert.That(copied, Is.Not.Empty, "nothing is copied before dotnet restore");
        var offending = copied.Where(c => !RestoreInput.IsMatch(Path.GetFileName(c.Source.TrimEnd('/'))) || c.Source.Contains('*', StringComparison.Ordinal))
            .Select(c => $"line {c.Line}: {c.Source}");
        Assert.That(offending, Is.Empty,
            "only *.csproj / *.props / *.targets / NuGet config may be copied before `dotnet restore`; anything else invalidates the cached restore layer on every code change");
        var publish = dockerfile.Instructions.FirstOrDefault(i => i.Stage == restore!.Stage && i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.That(publish?.Arguments, Does.Contain("--no-restore"), "dotnet publish should reuse the restore layer (--no-restore)");
    }

    [Test]
    public void The_restore_layer_copies_every_project_and_props_file_the_web_app_needs()
    {
        var dockerfile = Parsed;
        var restore = dockerfile.Instructions.First(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet restore", StringComparison.Ordinal));
        var copied = CopiesBefore(dockerfile, restore).Select(c => ContextPath(c.Source)).ToHashSet(StringComparer.Ordinal);
        var needed = ProjectClosure("src/Web/Vigie.Web.csproj").Concat(["Directory.Build.props", "Directory.Packages.props"]);
        Assert.That(needed.Where(n => !copied.Contains(n)), Is.Empty, "files `dotnet restore` reads but the restore layer does not copy");
    }

    [Test]
    public void Base_images_are_pinned_and_agree_with_env()
    {
        var dockerfile = Parsed;
        var env = ComposeFile.Current.Env;
        var problems = new List<string>();
        foreach (var from in dockerfile.Froms)
        {
            var image = ResolveFromArgs(from.Words[0]);
            var (_, tag) = ComposeExposureTests.SplitImage(image);
            if (string.IsNullOrEmpty(tag) || tag.Equals("latest", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"line {from.Line}: FROM {from.Words[0]} resolves to {image}, which is not pinned");
            }
        }
        foreach (var (name, value) in GlobalArgs(dockerfile))
        {
            if (env.Values.TryGetValue(name, out var pinned) && pinned != value)
            {
                problems.Add($"ARG {name}={value} in {DockerfilePath}, but .env pins {name}={pinned}: a plain `docker build` would use another base image");
            }
        }
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Compose_builds_web_from_this_dockerfile_with_declared_args()
    {
        var build = ComposeFile.Current.Services["web"].At("build");
        Assert.That(build.StringAt("context"), Is.EqualTo("."), "web: build.context must be the repository root");
        Assert.That(build.StringAt("dockerfile"), Is.EqualTo(DockerfilePath), "web: build.dockerfile");
        var declared = Parsed.Instructions.Where(i => i.Keyword == "ARG").SelectMany(Dockerfile.DeclaredNames).ToHashSet(StringComparer.Ordinal);
        var undeclared = build.At("args").AsPairs().Select(p => p.Key).Where(k => !declared.Contains(k));
        Assert.That(undeclared, Is.Empty, $"build args passed by docker-compose.yml but not declared by an ARG in {DockerfilePath} (silently ignored)");
    }

    [TestCase("bin/Debug/net10.0/Vigie.Web.dll")]
    [TestCase("src/Web/bin/Release/net10.0/Vigie.Web.dll")]
    [TestCase("src/Web/obj/project.assets.json")]
    [TestCase("src/Metrics/obj/Debug/net10.0/Vigie.Metrics.dll")]
    [TestCase("logs/web.log")]
    [TestCase("src/Web/logs/web.log")]
    [TestCase("secrets/db_password")]
    [TestCase("secrets/grafana_admin_password")]
    [TestCase(".git/config")]
    [TestCase(".git/objects/pack/pack.idx")]
    public void The_dockerignore_keeps_it_out_of_the_build_context(string path)
    {
        Assert.That(Ignore.Excludes(path), Is.True, $".dockerignore lets {path} into the build context");
    }

    [Test]
    public void The_dockerignore_keeps_everything_the_dockerfile_copies()
    {
        var dockerfile = Parsed;
        var sources = dockerfile.Instructions
            .Where(i => i.Keyword is "COPY" or "ADD" && !i.Flags.ContainsKey("from"))
            .SelectMany(i => i.Words.Take(i.Words.Count - 1).Select(w => (i.Line, Source: ContextPath(w))))
            .ToList();
        Assert.That(sources, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            Assert.That(sources.Where(s => Ignore.Excludes(s.Source)).Select(s => $"line {s.Line}: {s.Source}"), Is.Empty,
                ".dockerignore excludes what the Dockerfile copies");
            Assert.That(sources.Where(s => !s.Source.Contains('*', StringComparison.Ordinal) && !Exists(s.Source)).Select(s => $"line {s.Line}: {s.Source}"), Is.Empty,
                "the Dockerfile copies files that are not in the repository");
        });
    }

    private static IEnumerable<(int Line, string Source)> CopiesBefore(Dockerfile dockerfile, Instruction restore) =>
        dockerfile.Instructions
            .Where(i => i.Stage == restore.Stage && i.Line < restore.Line && i.Keyword is "COPY" or "ADD" && !i.Flags.ContainsKey("from"))
            .SelectMany(i => i.Words.Take(i.Words.Count - 1).Select(source => (i.Line, source)));

    /// <summary>ARG defaults declared before the first FROM (the ones FROM may use).</summary>
    private static Dictionary<string, string> GlobalArgs(Dockerfile dockerfile) =>
        dockerfile.Instructions.Where(i => i.Stage < 0 && i.Keyword == "ARG")
            .Select(i => i.Arguments.Trim().Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1].Trim('"'), StringComparer.Ordinal);

    private static string ResolveFromArgs(string image)
    {
        var args = GlobalArgs(Parsed);
        return ArgReference().Replace(image, m => args.GetValueOrDefault(m.Groups["name"].Value, m.Value));
    }

    private static HashSet<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<string>([project]);
        while (pending.TryDequeue(out var current))
        {
            if (!seen.Add(current))
            {
                continue;
            }
            var directory = Path.GetDirectoryName(current)!;
            foreach (var reference in XDocument.Load(Path.Combine(Infrastructure.RepositoryRoot, current)).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                var full = Path.GetFullPath(Path.Combine(Infrastructure.RepositoryRoot, directory, include));
                pending.Enqueue(Path.GetRelativePath(Infrastructure.RepositoryRoot, full).Replace('\\', '/'));
            }
        }
        return seen;
    }

    /// <summary>A COPY source as a path relative to the build context ("./src/" -> "src").</summary>
    private static string ContextPath(string source)
    {
        var path = source.Replace('\\', '/');
        while (path.StartsWith("./", StringComparison.Ordinal) || path.StartsWith('/'))
        {
            path = path.StartsWith('/') ? path[1..] : path[2..];
        }
        return path.TrimEnd('/');
    }

    private static bool Exists(string relative) =>
        File.Exists(Path.Combine(Infrastructure.RepositoryRoot, relative)) || Directory.Exists(Path.Combine(Infrastructure.RepositoryRoot, relative));

    [GeneratedRegex(@"(?i)^(?:\.?/)?(?:.*\.(?:csproj|fsproj|vbproj|props|targets|sln|slnx)|\.editorconfig|global\.json|nuget\.config|packages\.lock\.json|dotnet-tools\.json)$")]
    private static partial Regex RestoreInputPattern();

    [GeneratedRegex(@"(?i)^(?:https?|ftp|git|ssh)://|^git@")]
    private static partial Regex RemoteSource();

    [GeneratedRegex("(?i)PASSWORD|PASSWD|SECRET|TOKEN")]
    private static partial Regex SecretName();

    [GeneratedRegex(@"\$\{?(?<name>[A-Za-z_][A-Za-z0-9_]*)\}?")]
    private static partial Regex ArgReference();
}

using System.Text.RegularExpressions;
using Vigie.Testing;
using Vigie.Tests.Stack.Compose;

namespace Vigie.Tests.Stack.Live;

/// <summary>The live OpenAPI document against Redocly's recommended ruleset (@redocly/cli, pinned in .ci/tools, offline).</summary>
public sealed partial class ApiDocumentLintTests
{
    /// <summary>Recommended rules that are wrong for this API, each with the reason.</summary>
    public static readonly (string Rule, string Reason)[] SkippedRules =
    [
        ("no-ambiguous-paths", "/api/models/training/{id} and /api/models/{version}/shadow|promote cannot meet: a version is a 12-digit hex hash, never the word 'training', and the literal route wins"),
        ("operation-4xx-response", "GET /api/model, /api/models and /api/alerts take no input, so no client error exists to answer; every other operation declares its 4xx"),
        ("info-license", "the project has chosen no licence, and the document does not invent one"),
    ];

    /// <summary>Redocly's own telemetry and update check off: the tests reach no host but the app.</summary>
    public static readonly IReadOnlyDictionary<string, string> Offline = new Dictionary<string, string>
    {
        ["REDOCLY_TELEMETRY"] = "off",
        ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true",
    };

    /// <summary>The live document saved to a temporary file.</summary>
    public static async Task<string> SaveLiveDocumentAsync()
    {
        using var http = new HttpClient();
        var path = Path.Combine(Directory.CreateTempSubdirectory("vigie-openapi-").FullName, "openapi.json");
        await File.WriteAllTextAsync(path, await http.GetStringAsync(new Uri(LiveStack.Native.WebUrl, "openapi/v1.json")));
        return path;
    }

    [Test]
    public async Task The_live_OpenAPI_document_passes_the_recommended_ruleset_with_no_error_and_no_warning()
    {
        var document = await SaveLiveDocumentAsync();
        var arguments = new List<string> { "lint", document, "--extends", "recommended", "--format", "stylish" };
        foreach (var (rule, _) in SkippedRules)
        {
            arguments.AddRange(["--skip-rule", rule]);
        }
        var result = await ProcessRunner.RunAsync(Tools.Node("redocly"), arguments, Path.GetDirectoryName(document), environment: Offline, timeout: TimeSpan.FromMinutes(2));
        var problems = Problem().Matches(result.All).Select(m => m.Value).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.All);
            Assert.That(problems, Is.Empty, result.All);
        });
    }

    // A finding of the stylish format: "  2816:5  warning  tag-description  ...".
    [GeneratedRegex(@"^\s*\d+:\d+\s+(error|warning)\s+.*$", RegexOptions.Multiline)]
    private static partial Regex Problem();
}

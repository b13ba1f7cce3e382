using System.Text;
using System.Text.Json;
using Vigie.Client.Models;
using Vigie.Testing;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Contract;

/// <summary>
/// The Kiota client committed in <c>Contract/Client</c> is what Kiota generates from the live document now (its use against
/// the app over HTTP: <see cref="EndToEnd.GeneratedClientEndToEndTests"/>), and the read check it is used with catches a
/// field or type the client and the app disagree on.
/// </summary>
public sealed class GeneratedClientTests
{
    private const string ClientNamespace = "Vigie.Client";
    private static string CommittedClient => Path.Combine(Vigie.Testing.Infrastructure.RepositoryRoot, "tests", "Vigie.Tests.Integration", "Contract", "Client");

    [Test]
    public async Task The_committed_client_is_what_kiota_generates_from_the_live_document()
    {
        var work = Directory.CreateTempSubdirectory("vigie-kiota-");
        try
        {
            using (var http = App.CreateClient())
            {
                await File.WriteAllTextAsync(Path.Combine(work.FullName, "openapi.json"), await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
            }
            var generated = Path.Combine(work.FullName, "Client");
            var kiota = await ProcessRunner.RunAsync("dotnet", [.. RegenerateArguments(Path.Combine(work.FullName, "openapi.json"), generated)],
                timeout: TimeSpan.FromMinutes(5),
                environment: NothingLeavesTheMachine());
            Assert.That(kiota.ExitCode, Is.Zero, kiota.All);
            File.Delete(Path.Combine(generated, ".kiota.log"));

            if (Environment.GetEnvironmentVariable("VIGIE_REGENERATE_CLIENT") == "1")
            {
                Directory.Delete(CommittedClient, recursive: true);
                CopyDirectory(generated, CommittedClient);
                Assert.Pass("Contract/Client regenerated from the live document: review and commit it.");
            }
            Assert.That(Differences(generated, CommittedClient), Is.Empty,
                "The committed client is not what Kiota generates from the live document. Regenerate it with " +
                "VIGIE_REGENERATE_CLIENT=1 dotnet test tests/Vigie.Tests.Integration -c Release --filter Name~The_committed_client_is_what_kiota_generates");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>The <c>dotnet kiota generate</c> arguments that made the committed client (the README shows the same command).</summary>
    private static IEnumerable<string> RegenerateArguments(string document, string output) =>
        ["kiota", "generate", "--language", "CSharp", "--openapi", document, "--class-name", "VigieClient", "--namespace-name", ClientNamespace,
         "--output", output, "--clean-output", "--log-level", "Warning"];

    /// <summary>
    /// Kiota sends usage telemetry unless opted out, and checks GitHub for a newer release on every run (no setting turns
    /// that off): its HTTP goes to a loopback port where nothing listens, so the check fails at once with a warning.
    /// </summary>
    private static Dictionary<string, string> NothingLeavesTheMachine()
    {
        var nowhere = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"http://127.0.0.1:{Vigie.Stack.FreePort.Next()}");
        return new() { ["KIOTA_CLI_TELEMETRY_OPTOUT"] = "true", ["HTTPS_PROXY"] = nowhere, ["HTTP_PROXY"] = nowhere, ["NO_PROXY"] = "" };
    }

    [Test]
    public void A_field_the_app_does_not_send_or_one_the_client_does_not_know_fails_the_read_check()
    {
        var sent = """{"id":1,"species":"Adelie","extra":true}""";
        var declaredButMissing = new Prediction { Id = 1, Species = "Adelie" };
        var knownOnly = new RowError { Line = 2, Message = "x", Content = "abc,1,1,1" };
        var wrongType = """{"line":"two","message":"x"}""";
        Assert.Multiple(() =>
        {
            Assert.That(AnswerLog.Differences(declaredButMissing, JsonDocument.Parse(sent).RootElement, "$"), Has.Some.Contains("declares billLengthMm"));
            Assert.That(AnswerLog.Differences(declaredButMissing, JsonDocument.Parse(sent).RootElement, "$"), Has.Some.Contains("extra"));
            Assert.That(AnswerLog.Differences(knownOnly, JsonDocument.Parse("""{"line":2,"message":"x","content":"abc,1,1,1"}""").RootElement, "$"), Is.Empty);
            Assert.That(AnswerLog.Differences(new RowError { Message = "x" }, JsonDocument.Parse(wrongType).RootElement, "$"), Has.Some.Contains("line"));
        });
    }

    private static List<string> Differences(string generated, string committed)
    {
        static Dictionary<string, string> Files(string root) => Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), f => Normalised(f), StringComparer.Ordinal);
        // The lock file names where the document was read from: a temporary file here, another path for whoever regenerated.
        static string Normalised(string file) => string.Join('\n', File.ReadAllLines(file).Where(l => !l.TrimStart().StartsWith("\"descriptionLocation\"", StringComparison.Ordinal)));
        var now = Files(generated);
        var before = Files(committed);
        return [.. now.Keys.Union(before.Keys).Order(StringComparer.Ordinal)
            .Where(name => !now.TryGetValue(name, out var a) || !before.TryGetValue(name, out var b) || a != b)
            .Select(name => !before.ContainsKey(name) ? $"{name}: generated, not committed" : !now.ContainsKey(name) ? $"{name}: committed, no longer generated" : $"{name}: differs")];
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

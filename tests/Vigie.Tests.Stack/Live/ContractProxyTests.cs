using System.Text.RegularExpressions;
using Vigie.Stack;
using Vigie.Testing;
using Vigie.Tests.Stack.Compose;

namespace Vigie.Tests.Stack.Live;

/// <summary>
/// The README's curl walkthrough, run as written through a contract-validating proxy (Stoplight Prism 5 in proxy mode with
/// <c>--errors</c>, pinned in .ci/tools) placed between curl and the live app: any request or answer the OpenAPI document
/// does not describe is a violation Prism reports, and the test fails on it.
/// </summary>
public sealed partial class ContractProxyTests
{
    [Test]
    public async Task The_README_curl_walkthrough_through_a_validating_proxy_reports_no_violation()
    {
        var document = await ApiDocumentLintTests.SaveLiveDocumentAsync();
        var directory = Path.GetDirectoryName(document)!;
        // The walkthrough uploads penguins.csv from the current directory: a few rows of the app's own data.
        var data = await File.ReadAllLinesAsync(Path.Combine(Infrastructure.RepositoryRoot, "src", "Web", "Data", "penguins.csv"));
        await File.WriteAllLinesAsync(Path.Combine(directory, "penguins.csv"), BatchRows(data));

        var port = FreePort.Next();
        using var prism = ManagedProcess.Start("prism", Tools.Node("prism"),
            ["proxy", document, LiveStack.Native.WebUrl.ToString().TrimEnd('/'), "--errors", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            Path.Combine(directory, "prism.log"), workingDirectory: directory);
        var proxy = $"http://127.0.0.1:{port}";
        await WaitUntilListeningAsync(proxy, prism);

        var commands = Walkthrough();
        Assert.That(commands, Has.Count.GreaterThanOrEqualTo(6), "the README's curl walkthrough");
        string? batchId = null;
        var violations = new List<string>();
        foreach (var command in commands)
        {
            var line = command.Replace("http://127.0.0.1:8080", proxy, StringComparison.Ordinal).Replace("<batchId>", batchId ?? "none", StringComparison.Ordinal);
            // -i: the status line and headers too, where Prism reports violations (sl-violations).
            var result = await ProcessRunner.RunAsync("bash", ["-c", Regex.Replace(line, "^curl ", "curl -i ")], directory, timeout: TimeSpan.FromMinutes(1));
            var answer = result.Output;
            batchId ??= BatchId().Match(answer) is { Success: true } match ? match.Groups[1].Value : null;
            var status = StatusLine().Match(answer);
            if (result.ExitCode != 0 || !status.Success)
            {
                violations.Add($"{command}\n  curl failed: {result.All}");
            }
            else if (answer.Contains("sl-violations", StringComparison.OrdinalIgnoreCase) || answer.Contains("stoplight.io/prism/errors", StringComparison.Ordinal)
                     || int.Parse(status.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 500)
            {
                violations.Add($"{command}\n  {answer}");
            }
        }
        Assert.That(violations, Is.Empty, "Prism reported violations (its log: " + prism.Tail(40) + ")");
    }

    /// <summary>The curl commands of the README's "The API with curl" block, continuation lines joined.</summary>
    private static List<string> Walkthrough()
    {
        var readme = File.ReadAllText(Path.Combine(Infrastructure.RepositoryRoot, "README.md"));
        var section = readme[readme.IndexOf("### The API with curl", StringComparison.Ordinal)..];
        var block = CodeBlock().Match(section).Groups[1].Value.Replace("\\\n", " ", StringComparison.Ordinal);
        return [.. block.Split('\n').Select(l => Regex.Replace(l, @"\s+#.*$", string.Empty).Trim()).Where(l => l.StartsWith("curl ", StringComparison.Ordinal))];
    }

    private static IEnumerable<string> BatchRows(string[] data)
    {
        var rows = data.Where(r => !r.StartsWith('#')).ToList();
        var header = rows[0].Split(',');
        var columns = new[] { "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g" }.Select(c => Array.IndexOf(header, c)).ToArray();
        yield return "bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g";
        foreach (var row in rows.Skip(1).Take(5))
        {
            var cells = row.Split(',');
            yield return string.Join(',', columns.Select(i => cells[i]));
        }
    }

    private static async Task WaitUntilListeningAsync(string url, ManagedProcess prism)
    {
        using var http = new HttpClient();
        for (var attempt = 0; attempt < 120; attempt++)
        {
            Assert.That(prism.HasExited, Is.False, "prism exited: " + prism.Tail());
            try
            {
                using var response = await http.GetAsync(new Uri(url + "/api/model"));
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(500);
            }
        }
        Assert.Fail("prism did not start listening: " + prism.Tail());
    }

    [GeneratedRegex("```bash\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    [GeneratedRegex("\"batchId\":\"([0-9a-f-]{36})\"")]
    private static partial Regex BatchId();

    [GeneratedRegex(@"^HTTP/\S+ (\d{3})", RegexOptions.Multiline)]
    private static partial Regex StatusLine();
}

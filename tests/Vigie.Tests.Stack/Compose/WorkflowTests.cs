using Vigie.Testing;

namespace Vigie.Tests.Stack.Compose;

/// <summary>.github/workflows/ci.yml: valid for GitHub Actions (action-validator 0.6.0, pinned in .ci/tools) and doing what the README says.</summary>
public sealed class WorkflowTests
{
    private const string WorkflowPath = ".github/workflows/ci.yml";

    private static Dictionary<string, object?> Workflow =>
        YamlTree.Load(Path.Combine(Infrastructure.RepositoryRoot, WorkflowPath)).AsMap() ?? throw new InvalidDataException($"{WorkflowPath} is not a mapping");

    private sealed record Step(string Job, int Index, string Name, string? If, IReadOnlyList<string> Commands);

    private static List<Step> Steps(string job) =>
        Workflow.At("jobs", job, "steps").AsList()
            .Select((step, index) => new Step(
                job,
                index,
                step.StringAt("name") ?? step.StringAt("uses") ?? $"step {index + 1}",
                step.StringAt("if"),
                (step.StringAt("run") ?? string.Empty).Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0 && !line.StartsWith('#')).ToList()))
            .ToList();

    private static IEnumerable<string> Jobs => (Workflow.At("jobs").AsMap() ?? []).Keys;

    private static async Task<ProcessRunner.Result> ActionValidatorAsync(string file, string workingDirectory) =>
        await ProcessRunner.RunAsync(Tools.Node("action-validator"), [file], workingDirectory);

    [Test]
    public async Task The_workflow_passes_action_validator()
    {
        var result = await ActionValidatorAsync(WorkflowPath, Infrastructure.RepositoryRoot);
        Assert.That(result.ExitCode, Is.Zero, $"action-validator rejected {WorkflowPath}:\n{result.All}");
    }

    [Test]
    public async Task Action_validator_rejects_a_job_without_runs_on()
    {
        using var copy = Tools.CopyOf(WorkflowPath);
        var text = File.ReadAllText(copy[WorkflowPath]);
        Assert.That(text, Does.Contain("runs-on:"));
        File.WriteAllText(copy[WorkflowPath], text.Replace("runs-on:", "runs_on:", StringComparison.Ordinal));

        var result = await ActionValidatorAsync(WorkflowPath, copy.Path);
        Assert.That(result.ExitCode, Is.Not.Zero, result.All);
        Assert.That(result.All, Does.Contain("runs_on"), result.All);
    }

    [Test]
    public void One_job_runs_the_ci_entry_point()
    {
        var steps = Jobs.SelectMany(Steps).Where(s => s.Commands.Any(c => c.Contains("bash .ci/run", StringComparison.Ordinal))).ToList();
        Assert.That(steps, Is.Not.Empty, $"no step of {WorkflowPath} runs `bash .ci/run`");
        Assert.That(steps.Select(s => s.If), Has.All.Null, $"the .ci/run step must not be conditional ({string.Join(", ", steps.Select(s => s.Job))})");
    }

    [Test]
    public void Another_job_brings_the_stack_up_checks_its_status_and_always_tears_it_down()
    {
        var ciJob = Jobs.FirstOrDefault(job => Steps(job).Any(s => s.Commands.Any(c => c.Contains("bash .ci/run", StringComparison.Ordinal))));
        var stackJob = Jobs.FirstOrDefault(job => job != ciJob && Steps(job).Any(s => s.Commands.Contains("dotnet cake")));
        Assert.That(stackJob, Is.Not.Null, $"no job of {WorkflowPath} (other than the .ci/run one, {ciJob ?? "none"}) runs `dotnet cake`");

        var steps = Steps(stackJob!);
        int IndexOf(string command) => steps.FindIndex(s => s.Commands.Contains(command));
        var restore = IndexOf("dotnet tool restore");
        var up = IndexOf("dotnet cake");
        var status = IndexOf("dotnet cake --target=Status");
        var down = IndexOf("dotnet cake --target=Down");
        Assert.Multiple(() =>
        {
            Assert.That(restore, Is.InRange(0, up), $"job {stackJob}: `dotnet tool restore` must run before `dotnet cake` (Cake is a local tool)");
            Assert.That(status, Is.GreaterThan(up), $"job {stackJob}: `dotnet cake --target=Status` must follow `dotnet cake`");
            Assert.That(down, Is.GreaterThan(status), $"job {stackJob}: `dotnet cake --target=Down` must be the last stack step");
            Assert.That(up >= 0 ? steps[up].If : null, Is.Null, $"job {stackJob}: bringing the stack up must not be conditional");
            Assert.That(down >= 0 ? steps[down].If?.Replace(" ", string.Empty, StringComparison.Ordinal) : null, Is.EqualTo("always()").Or.EqualTo("${{always()}}"),
                $"job {stackJob}: the Down step needs `if: always()` so a failed run still stops the stack");
        });
    }
}

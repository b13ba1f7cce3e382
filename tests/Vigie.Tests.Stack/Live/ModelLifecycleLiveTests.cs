using Vigie.Stack;
using Vigie.Tests.Stack.Dashboards;
using static Vigie.Tests.Stack.Live.LiveStack;

namespace Vigie.Tests.Stack.Live;

/// <summary>The model lifecycle as an operator sees it on the live stack: switches on the dashboard, and the Train command.</summary>
public sealed class ModelLifecycleLiveTests
{
    [Test]
    public async Task The_model_dashboard_draws_the_promotion_and_the_rollback_as_annotations()
    {
        var dashboard = Dashboard.All().Single(d => d.Uid == "vigie-model");
        var annotations = dashboard.Root.GetProperty("annotations").GetProperty("list").EnumerateArray()
            .Where(a => a.GetProperty("datasource").GetProperty("uid").GetString() == "vigie-prometheus")
            .ToList();
        Assert.That(annotations, Has.Count.EqualTo(1));
        var expression = Dashboard.Substitute(annotations[0].GetProperty("expr").GetString()!);
        // The traffic promoted a candidate and rolled it back: both switches show, each naming the version served after it.
        var series = await PrometheusApi.QueryRangeAsync(expression, TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(5));
        var versions = series.Select(s => s.GetProperty("metric").GetProperty("model_version").GetString()).Distinct().ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(versions, Has.Count.EqualTo(2), string.Join(", ", versions));
            Assert.That(await PrometheusApi.ValuesAsync("sum(vigie_model_switches_total)"), Is.EqualTo(new[] { 2.0 }));
        });
    }

    [Test]
    public async Task The_Train_command_retrains_from_the_feedback_of_a_running_stack()
    {
        using var output = new StringWriter();
        var exit = await TrainCommand.RunAsync(Native.WebUrl, TrafficDriver.AdminToken, output, TimeSpan.FromSeconds(60));
        TestContext.Out.WriteLine(output.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, output.ToString());
            Assert.That(output.ToString(), Does.Contain("succeeded: done"));
            // Feedback arrived after the traffic's own run (on the shadowed predictions): a new candidate, shown beside the active model.
            Assert.That(output.ToString(), Does.Match(@"Candidate [0-9a-f]{12}: \d+ base rows \+ \d+ feedback rows"));
            Assert.That(output.ToString(), Does.Contain("held-out (").And.Contain("macro-F1"));
        });
    }

    [Test]
    public async Task The_Train_command_reports_a_wrong_token_without_changing_anything()
    {
        using var http = new HttpClient { BaseAddress = Native.WebUrl };
        var before = await http.GetStringAsync(new Uri("/api/models", UriKind.Relative));
        var runBefore = await http.GetStringAsync(new Uri("/api/models/training", UriKind.Relative));
        using var output = new StringWriter();
        var exit = await TrainCommand.RunAsync(Native.WebUrl, "wrong-token", output, TimeSpan.FromSeconds(10));
        Assert.Multiple(async () =>
        {
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(output.ToString(), Does.Contain("Refused: 401"));
            Assert.That(await http.GetStringAsync(new Uri("/api/models", UriKind.Relative)), Is.EqualTo(before));
            Assert.That(await http.GetStringAsync(new Uri("/api/models/training", UriKind.Relative)), Is.EqualTo(runBefore));
        });
    }
}

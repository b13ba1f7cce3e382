using Vigie.Tests.Stack.Dashboards;
using static Vigie.Tests.Stack.Live.LiveStack;

namespace Vigie.Tests.Stack.Live;

/// <summary>Every panel query of every provisioned dashboard, run against the real Prometheus of the running stack.</summary>
public sealed class DashboardQueryTests
{
    public static IEnumerable<TestCaseData> Dashboards() => Dashboard.All().Select(d => new TestCaseData(d).SetArgDisplayNames(d.File));

    [TestCaseSource(nameof(Dashboards))]
    public async Task Every_expression_returns_data_after_traffic(Dashboard dashboard)
    {
        var expressions = dashboard.Expressions().ToList();
        var empty = new List<string>();
        foreach (var (panel, expression) in expressions)
        {
            var result = await PrometheusApi.QueryAsync(Dashboard.Substitute(expression));
            if (result.Count == 0)
            {
                empty.Add($"{panel}: {expression}");
            }
        }
        TestContext.Out.WriteLine($"{dashboard.File}: {expressions.Count} expressions checked, {expressions.Count - empty.Count} returned data");
        Assert.Multiple(() =>
        {
            Assert.That(expressions, Is.Not.Empty);
            Assert.That(empty, Is.Empty, "expressions without data");
        });
    }
}

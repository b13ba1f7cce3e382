using System.Text.Json;
using System.Text.RegularExpressions;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Dashboards;

/// <summary>A provisioned dashboard file, its panels (rows flattened) and its PromQL expressions.</summary>
public sealed partial record Dashboard(string File, JsonElement Root)
{
    public static string JsonDirectory => Path.Combine(Infrastructure.RepositoryRoot, "grafana", "provisioning", "dashboards", "json");

    public static IReadOnlyList<Dashboard> All() =>
        Directory.GetFiles(JsonDirectory, "*.json").Order(StringComparer.Ordinal)
            .Select(f => new Dashboard(Path.GetFileName(f), JsonDocument.Parse(System.IO.File.ReadAllText(f)).RootElement))
            .ToList();

    public string Uid => Root.GetProperty("uid").GetString()!;

    /// <summary>Every panel, including those nested in collapsed rows.</summary>
    public IEnumerable<JsonElement> Panels()
    {
        foreach (var panel in Root.GetProperty("panels").EnumerateArray())
        {
            yield return panel;
            if (panel.TryGetProperty("panels", out var nested))
            {
                foreach (var child in nested.EnumerateArray())
                {
                    yield return child;
                }
            }
        }
    }

    /// <summary>(panel title, expression) of every Prometheus target.</summary>
    public IEnumerable<(string Panel, string Expression)> Expressions() =>
        Panels().Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()
                .Where(t => t.TryGetProperty("expr", out _))
                .Select(t => (p.GetProperty("title").GetString() ?? "", t.GetProperty("expr").GetString()!)));

    /// <summary>The expression with Grafana's variables replaced by values Prometheus can evaluate now.</summary>
    public static string Substitute(string expression) => expression
        .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
        .Replace("$__interval", "1m", StringComparison.Ordinal)
        .Replace("$__range", "1h", StringComparison.Ordinal)
        .Replace("${instance}", ".*", StringComparison.Ordinal)
        .Replace("$instance", ".*", StringComparison.Ordinal)
        .Replace("${route}", ".*", StringComparison.Ordinal)
        .Replace("$route", ".*", StringComparison.Ordinal);

    /// <summary>Metric names an expression reads (identifiers followed by a selector or range, not functions or labels).</summary>
    public static IEnumerable<string> MetricNames(string expression)
    {
        var withoutStrings = QuotedString().Replace(expression, "\"\"");
        var withoutGrouping = Grouping().Replace(withoutStrings, "");
        return Identifier().Matches(withoutGrouping).Select(m => m.Groups[1].Value)
            .Where(name => !PromqlWords.Contains(name))
            .Distinct();
    }

    private static readonly HashSet<string> PromqlWords = new(StringComparer.Ordinal)
    {
        "sum", "avg", "min", "max", "count", "rate", "irate", "increase", "histogram_quantile", "clamp_min", "clamp_max", "clamp",
        "label_replace", "vector", "scalar", "time", "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "count_over_time",
        "predict_linear", "deriv", "delta", "abs", "round", "topk", "bottomk", "sort", "sort_desc", "absent", "changes", "resets",
        "or", "and", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "last_over_time",
        "quantile_over_time", "stddev_over_time", "group", "count_values", "quantile", "stddev", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "timestamp",
    };

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex QuotedString();

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![\w:.{,=])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()(?!\s*[=!~]=?)")]
    private static partial Regex Identifier();
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace Vigie.Tests.Integration.Contract;

/// <summary>
/// The live OpenAPI document as a test oracle: an answer of a documented operation must have a declared status, a declared
/// content type and a body its schema accepts, or <see cref="Check"/> names what the document does not describe.
/// </summary>
public sealed class ApiContract
{
    private readonly JsonObject _document;
    private readonly JsonObject _definitions;
    private readonly List<(Regex Path, string Template, int Parameters)> _paths;
    // Shared by the concurrent requests of one test (50 repeats of an Idempotency-Key).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, JsonSchema> _schemas = new(StringComparer.Ordinal);

    public ApiContract(string documentJson)
    {
        _document = JsonNode.Parse(documentJson)!.AsObject();
        _definitions = _document["components"]?["schemas"]?.AsObject() ?? [];
        // Literal segments win over parameters: /api/models/training before /api/models/{version}.
        _paths = [.. _document["paths"]!.AsObject()
            .Select(p => (Path: new Regex("^" + Regex.Replace(Regex.Escape(p.Key), @"\\\{[^}]+}", "[^/]+") + "$", RegexOptions.CultureInvariant), Template: p.Key, Parameters: p.Key.Count(c => c == '{')))
            .OrderBy(p => p.Parameters)];
    }

    /// <summary>The OpenAPI operation of <paramref name="method"/> on <paramref name="path"/>, or null when the document has none.</summary>
    public (string Template, JsonObject Operation)? Find(string method, string path)
    {
        foreach (var (regex, template, _) in _paths)
        {
            if (regex.IsMatch(path))
            {
                return _document["paths"]![template]![method.ToLowerInvariant()] is JsonObject operation ? (template, operation) : null;
            }
        }
        return null;
    }

    /// <summary>What the document does not describe about this answer; empty when it describes it fully.</summary>
    public IReadOnlyList<string> Check(string method, string path, int status, string? mediaType, string body)
    {
        if (Find(method, path) is not var (template, operation))
        {
            return [];
        }
        var where = $"{method} {template} answered {status}";
        var responses = operation["responses"]!.AsObject();
        if ((responses[status.ToString(CultureInfo.InvariantCulture)] ?? responses["default"]) is not JsonObject response)
        {
            return [$"{where}: the document lists only {string.Join(", ", responses.Select(r => r.Key))}"];
        }
        if (body.Length == 0)
        {
            return [];
        }
        if (response["content"] is not JsonObject content || mediaType is null || content[mediaType] is not JsonObject media)
        {
            return [$"{where} with {mediaType ?? "no content type"}: the document declares {string.Join(", ", (response["content"]?.AsObject() ?? []).Select(c => c.Key).DefaultIfEmpty("no body"))}"];
        }
        if (!mediaType.EndsWith("json", StringComparison.Ordinal) || media["schema"] is not JsonNode schemaNode)
        {
            return [];
        }
        var schema = _schemas.GetOrAdd($"{template} {method} {status} {mediaType}", _ => Compile(schemaNode));
        using var instance = JsonDocument.Parse(body);
        var result = schema.Evaluate(instance.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid
            ? []
            : [.. (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{where}: {d.InstanceLocation} {e.Key}: {e.Value}"))
                .DefaultIfEmpty($"{where}: the body does not match the schema: {body}")];
    }

    // A response schema with the document's component schemas as $defs, so its $refs resolve inside it.
    private JsonSchema Compile(JsonNode schema)
    {
        var root = JsonNode.Parse(schema.ToJsonString())!.AsObject();
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        root["$defs"] = JsonNode.Parse(_definitions.ToJsonString());
        var text = root.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
        return JsonSchema.FromText(text, baseUri: new Uri($"https://vigie.test/contract/{Guid.NewGuid():N}"));
    }
}

using Microsoft.OpenApi;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// The API's nullability rule in the document: every property of an answer is always present (a property without a value
/// is written as null, and its schema allows null), so every property of a response schema is required. Request bodies
/// keep their properties optional: a missing field is a validation error the API words itself, not a schema violation.
/// </summary>
internal static class ResponseSchemas
{
    public static void RequireEveryProperty(OpenApiDocument document)
    {
        var schemas = document.Components?.Schemas;
        if (schemas is null)
        {
            return;
        }
        var requestOnly = new HashSet<string>(StringComparer.Ordinal);
        foreach (var operation in Operations(document))
        {
            foreach (var media in operation.RequestBody?.Content?.Values ?? [])
            {
                Collect(media.Schema, schemas, requestOnly);
            }
        }
        var responses = new HashSet<string>(StringComparer.Ordinal);
        foreach (var operation in Operations(document))
        {
            foreach (var media in (operation.Responses ?? []).Values.SelectMany(r => r.Content?.Values ?? []))
            {
                Collect(media.Schema, schemas, responses);
            }
        }
        foreach (var name in responses.Except(requestOnly).Where(n => n != ApiDocument.ProblemSchema))
        {
            if (schemas[name] is OpenApiSchema { Properties.Count: > 0 } schema)
            {
                schema.Required = new HashSet<string>(schema.Properties.Keys, StringComparer.Ordinal);
            }
        }
    }

    private static IEnumerable<OpenApiOperation> Operations(OpenApiDocument document) =>
        (document.Paths ?? []).Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []);

    // The names of the component schemas reachable from schema.
    private static void Collect(IOpenApiSchema? schema, IDictionary<string, IOpenApiSchema> components, HashSet<string> names)
    {
        switch (schema)
        {
            case null:
                return;
            case OpenApiSchemaReference { Reference.Id: { } id }:
                if (names.Add(id) && components.TryGetValue(id, out var target))
                {
                    Collect(target, components, names);
                }
                return;
            default:
                foreach (var child in (schema.Properties?.Values ?? []).Concat(schema.AllOf ?? []).Concat(schema.AnyOf ?? []).Concat(schema.OneOf ?? []))
                {
                    Collect(child, components, names);
                }
                Collect(schema.Items, components, names);
                Collect(schema.AdditionalProperties, components, names);
                return;
        }
    }
}

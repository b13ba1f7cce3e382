using System.Reflection;
using System.Text.Json;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// What was wrong with a JSON body the reader refused, in the client's words: a value of the wrong type becomes a field
/// error keyed by its JSON name (as the range checks report theirs), anything else a "malformed JSON" message. Neither
/// carries .NET type names or reader internals: the client wrote JSON, not C#.
/// </summary>
public static class JsonBodyErrors
{
    /// <summary>The title of the answer to a body that is not JSON at all.</summary>
    public const string MalformedTitle = "Malformed JSON";

    /// <summary>
    /// Field errors for a value of the wrong type (keyed by the JSON path without its <c>$.</c>), or null when the body
    /// is not well-formed JSON. <paramref name="bodyType"/> (the endpoint's request type) names the expected type.
    /// </summary>
    public static Dictionary<string, string[]>? FieldErrors(JsonException exception, Type? bodyType)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (IsSyntaxError(exception) || exception.Path is not { Length: > 2 } path || !path.StartsWith("$.", StringComparison.Ordinal))
        {
            return null;
        }
        var field = path[2..];
        return new Dictionary<string, string[]> { [field] = [$"{field} must be {Expected(bodyType, field)}."] };
    }

    /// <summary>Where the body stopped being JSON, without the reader's own wording.</summary>
    public static string MalformedDetail(JsonException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var where = exception.Path is { Length: > 1 } path ? $" at {path}" : string.Empty;
        return exception.LineNumber is { } line && exception.BytePositionInLine is { } position
            ? $"The request body is not valid JSON{where} (line {line + 1}, byte {position + 1})."
            : $"The request body is not valid JSON{where}.";
    }

    // The reader's own errors (a token that cannot start a value, an unterminated string, an empty body) come wrapped
    // around its internal exception type; a conversion error of a well-formed value does not.
    private static bool IsSyntaxError(JsonException exception) =>
        exception.InnerException?.GetType().Name == "JsonReaderException"
        || exception.Message.Contains("input does not contain any JSON tokens", StringComparison.Ordinal);

    private static string Expected(Type? bodyType, string field)
    {
        var property = bodyType?.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .FirstOrDefault(p => string.Equals(JsonNamingPolicy.CamelCase.ConvertName(p.Name), field, StringComparison.Ordinal));
        var type = property is null ? null : Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        return type switch
        {
            null => "a value of the documented type",
            _ when type == typeof(string) => "a string",
            _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "a number",
            _ when type == typeof(int) || type == typeof(long) => "a whole number",
            _ when type == typeof(bool) => "true or false",
            _ when typeof(System.Collections.IDictionary).IsAssignableFrom(type) => "an object",
            _ when type.IsArray || typeof(System.Collections.IEnumerable).IsAssignableFrom(type) => "an array",
            _ => "an object",
        };
    }
}

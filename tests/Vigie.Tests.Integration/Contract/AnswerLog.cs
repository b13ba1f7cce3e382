using System.Collections;
using System.Reflection;
using System.Text.Json;
using Microsoft.Kiota.Abstractions.Serialization;

namespace Vigie.Tests.Integration.Contract;

/// <summary>
/// Keeps the body of the last answer the generated client got, to prove the client read it fully: Kiota leaves a property
/// the app did not send (or sent with another type) null and files an unknown one away in AdditionalData, silently, so a
/// document that lies about a field would go unnoticed without this check.
/// </summary>
public sealed class AnswerLog : DelegatingHandler
{
    private string _lastBody = "";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        _lastBody = await response.Content.ReadAsStringAsync(cancellationToken);
        return response;
    }

    /// <summary>Fails unless <paramref name="model"/>, read from the last answer, has every field the app sent and only those.</summary>
    public void AssertReadFully(IParsable model)
    {
        using var sent = JsonDocument.Parse(_lastBody);
        var differences = Differences(model, sent.RootElement, "$");
        Assert.That(differences, Is.Empty, $"The generated {model.GetType().Name} does not match the answer {_lastBody}");
    }

    /// <summary>What differs between the fields the client's model declares (and read) and the JSON object the app sent.</summary>
    public static IReadOnlyList<string> Differences(IParsable model, JsonElement sent, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (sent.ValueKind != JsonValueKind.Object)
        {
            return [$"{path}: the app sent {sent.ValueKind}, the client expects an object"];
        }
        var declared = model.GetFieldDeserializers().Keys.ToHashSet(StringComparer.Ordinal);
        var differences = new List<string>();
        differences.AddRange(declared.Where(name => !sent.TryGetProperty(name, out _)).Select(name => $"{path}: the client declares {name}, the app did not send it"));
        // A schema that is a map (additionalProperties: the probabilities per species, errors per field) declares no field.
        if (declared.Count > 0)
        {
            differences.AddRange(sent.EnumerateObject().Where(p => !declared.Contains(p.Name)).Select(p => $"{path}.{p.Name}: sent by the app, unknown to the client"));
        }
        foreach (var field in sent.EnumerateObject().Where(p => declared.Contains(p.Name) && p.Value.ValueKind != JsonValueKind.Null))
        {
            var property = model.GetType().GetProperty(field.Name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            var value = property?.GetValue(model);
            var where = $"{path}.{field.Name}";
            switch (value)
            {
                case null:
                    differences.Add($"{where}: the app sent {field.Value.GetRawText()}, the client read nothing");
                    break;
                case IParsable nested:
                    differences.AddRange(Differences(nested, field.Value, where));
                    break;
                case IEnumerable items and not string when field.Value.ValueKind == JsonValueKind.Array:
                    differences.AddRange(items.Cast<object>().Zip(field.Value.EnumerateArray(), (item, element) => (item, element))
                        .Select((pair, index) => (pair, index))
                        .Where(p => p.pair.item is IParsable)
                        .SelectMany(p => Differences((IParsable)p.pair.item, p.pair.element, $"{where}[{p.index}]")));
                    break;
            }
        }
        return differences;
    }
}

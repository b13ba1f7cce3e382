using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Vigie.Tests.Stack.Live;

/// <summary>The parts of Prometheus' HTTP API the tests read.</summary>
public sealed class PrometheusClient(Uri baseUrl) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>An instant query; returns the result series (vector or matrix elements, or the scalar as one element).</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryAsync(string expression)
    {
        var response = await _http.GetFromJsonAsync<JsonElement>("/api/v1/query?query=" + Uri.EscapeDataString(expression));
        if (response.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Query failed: {expression}: {response}");
        }
        var data = response.GetProperty("data");
        return data.GetProperty("resultType").GetString() is "scalar" or "string"
            ? [data.GetProperty("result")]
            : data.GetProperty("result").EnumerateArray().ToList();
    }

    /// <summary>The numeric value of each series of an instant query.</summary>
    public async Task<IReadOnlyList<double>> ValuesAsync(string expression) =>
        (await QueryAsync(expression)).Select(e => double.Parse(e.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)).ToList();

    /// <summary>Polls until <paramref name="expression"/> returns at least one series, or the timeout passes.</summary>
    public async Task<bool> WaitForDataAsync(string expression, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if ((await QueryAsync(expression)).Count > 0)
            {
                return true;
            }
            await Task.Delay(1000);
        }
        return false;
    }

    public void Dispose() => _http.Dispose();
}

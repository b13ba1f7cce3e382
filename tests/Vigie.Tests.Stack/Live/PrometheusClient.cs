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

    /// <summary>A range query over the last <paramref name="range"/> (as Grafana runs annotation and graph queries); returns the result series.</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryRangeAsync(string expression, TimeSpan range, TimeSpan step)
    {
        var end = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var start = end - (long)range.TotalSeconds;
        var response = await _http.GetFromJsonAsync<JsonElement>(string.Create(CultureInfo.InvariantCulture,
            $"/api/v1/query_range?query={Uri.EscapeDataString(expression)}&start={start}&end={end}&step={(int)step.TotalSeconds}"));
        if (response.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Query failed: {expression}: {response}");
        }
        return response.GetProperty("data").GetProperty("result").EnumerateArray().ToList();
    }

    /// <summary>The numeric value of each series of an instant query.</summary>
    public async Task<IReadOnlyList<double>> ValuesAsync(string expression) =>
        (await QueryAsync(expression)).Select(e => double.Parse(e.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)).ToList();

    /// <summary>Waits until Prometheus has scraped <paramref name="job"/> after this call (the scrape's timestamp is later than now).</summary>
    public async Task WaitForScrapeAsync(string job, TimeSpan timeout)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if ((await ValuesAsync($"timestamp(up{{job=\"{job}\"}})")).Any(t => t > now))
            {
                return;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"Prometheus did not scrape {job} within {timeout.TotalSeconds} s.");
    }

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

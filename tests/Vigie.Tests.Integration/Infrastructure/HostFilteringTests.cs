using System.Globalization;
using System.Net;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Infrastructure;

/// <summary>
/// <c>AllowedHosts</c>: the app answers only the names it is published under, so a page of another site whose name is
/// re-pointed at 127.0.0.1 (DNS rebinding) cannot read or drive the loopback-bound app from a visitor's browser.
/// </summary>
public sealed class HostFilteringTests
{
    [TestCase("evil.example")]
    [TestCase("evil.example:8080")]
    [TestCase("web")]
    [TestCase("localhost.evil.example")]
    public async Task A_request_for_another_host_name_gets_400(string host)
    {
        using var client = NewClient();
        using var page = await SendAsync(client, "/", host);
        using var api = await SendAsync(client, "/api/predictions?limit=1", host);
        Assert.Multiple(() =>
        {
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        });
    }

    [TestCase("localhost")]
    [TestCase("localhost:8080")]
    [TestCase("127.0.0.1:8080")]
    [TestCase("[::1]:8080")]
    public async Task The_loopback_names_are_answered_by_default(string host)
    {
        using var client = NewClient();
        using var response = await SendAsync(client, "/api/predictions?limit=1", host);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase("web:8081")]
    [TestCase("evil.example")]
    public async Task The_sidecar_metrics_host_is_not_host_filtered(string host)
    {
        // Its own Kestrel server (prometheus-net's), scraped by Prometheus as web:8081 or, under Swarm, by task address.
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{App.MetricsPort}/metrics")));
        request.Headers.Host = host;
        using var response = await http.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Host = host;
        return await client.SendAsync(request);
    }
}

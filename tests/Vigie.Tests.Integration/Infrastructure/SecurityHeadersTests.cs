using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Infrastructure;

/// <summary>The headers of every kind of answer, and pages that need nothing the Content-Security-Policy forbids.</summary>
public sealed partial class SecurityHeadersTests
{
    private static readonly string[] Pages = ["/", "/Batch", "/History", "/Models", "/Alerts", "/Error?code=404"];

    [TestCase("GET", "/", 200, "text/html", TestName = "a page")]
    [TestCase("GET", "/css/site.css", 200, "text/css", TestName = "a static file")]
    [TestCase("GET", "/api/predictions?limit=1", 200, "application/json", TestName = "an API answer")]
    [TestCase("GET", "/api/predictions/987654321", 404, "application/problem+json", TestName = "a problem of an endpoint")]
    [TestCase("GET", "/api/no-such-route", 404, "application/problem+json", TestName = "a problem of the status code pages")]
    [TestCase("POST", "/api/predictions", 400, "application/problem+json", TestName = "a problem of the exception handler")]
    [TestCase("GET", "/no-such-page", 404, "text/html", TestName = "the error page")]
    [TestCase("GET", "/health/ready", 200, "application/json", TestName = "readiness")]
    [TestCase("GET", "/openapi/v1.json", 200, "application/json", TestName = "the OpenAPI document")]
    public async Task Every_answer_carries_the_security_headers(string method, string path, int status, string mediaType)
    {
        using var client = NewClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (method == "POST")
        {
            // Malformed JSON: the binder throws and the exception handler writes the problem after clearing the response.
            request.Content = new StringContent("{\"billLengthMm\": ", Encoding.UTF8, "application/json");
        }
        using var response = await client.SendAsync(request);

        var csp = Header(response, "Content-Security-Policy");
        Assert.Multiple(() =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(status));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo(mediaType));
            Assert.That(Directives(csp), Is.SupersetOf(new[]
            {
                "default-src 'none'", "style-src 'self'", "img-src 'self'", "form-action 'self'", "base-uri 'self'", "frame-ancestors 'none'",
            }), csp);
            Assert.That(csp, Does.Not.Contain("unsafe").And.Not.Contain("script-src"), "no script is allowed, nothing inline");
            Assert.That(Header(response, "X-Content-Type-Options"), Is.EqualTo("nosniff"));
            Assert.That(Header(response, "X-Frame-Options"), Is.EqualTo("DENY"));
            Assert.That(Header(response, "Referrer-Policy"), Is.EqualTo("no-referrer"));
            Assert.That(response.Headers.Contains("Server"), Is.False);
        });
    }

    [Test]
    public async Task No_page_has_a_script_or_an_inline_style_the_policy_would_block()
    {
        using var client = NewClient();
        using var created = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
        var id = (await ReadJsonAsync(created)).GetProperty("id").GetInt64();
        var problems = new List<string>();
        foreach (var path in Pages.Append($"/Predictions/{id}"))
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            var html = await response.Content.ReadAsStringAsync();
            problems.AddRange(Blocked().Matches(html).Select(m => $"{path}: {m.Value}"));
        }
        Assert.That(problems, Is.Empty);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : string.Empty;

    private static string[] Directives(string csp) =>
        csp.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // What a policy without 'unsafe-inline' and without script sources refuses: script elements, inline style
    // attributes and elements, event handler attributes and javascript: URLs.
    [GeneratedRegex(@"<script\b|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", RegexOptions.IgnoreCase)]
    private static partial Regex Blocked();
}

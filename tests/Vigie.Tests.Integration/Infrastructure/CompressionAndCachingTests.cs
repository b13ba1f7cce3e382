using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Infrastructure;

/// <summary>What pages and static files cost the network: compressed text, versioned files cached for a year, and a description on every page.</summary>
public sealed partial class CompressionAndCachingTests
{
    private static readonly string[] Pages = ["/", "/Batch", "/History", "/Models", "/Alerts", "/no-such-page"];

    [TestCase("/", "br")]
    [TestCase("/", "gzip")]
    [TestCase("/History", "br")]
    [TestCase("/css/site.css", "br")]
    [TestCase("/css/site.css", "gzip")]
    public async Task Pages_and_the_stylesheet_are_sent_compressed_to_a_client_that_accepts_it(string path, string encoding)
    {
        using var client = NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue(encoding));
        using var response = await client.SendAsync(request);
        var compressed = await response.Content.ReadAsByteArrayAsync();

        using var plainClient = NewClient();
        var plain = await plainClient.GetStringAsync(new Uri(path, UriKind.Relative));
        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentEncoding, Is.EqualTo(new[] { encoding }));
            Assert.That(response.Headers.Vary.Select(v => v.ToUpperInvariant()), Does.Contain("ACCEPT-ENCODING"));
            Assert.That(compressed, Has.Length.LessThan(plain.Length / 2), "text compresses to well under half");
            Assert.That(Decompress(compressed, encoding), Does.StartWith(plain[..Math.Min(200, plain.Length)]));
        });
    }

    [Test]
    public async Task The_versioned_stylesheet_and_icon_the_pages_link_are_cached_for_a_year_and_unversioned_ones_are_not()
    {
        using var client = NewClient();
        var page = await client.GetStringAsync(new Uri("/", UriKind.Relative));
        var links = VersionedLink().Matches(page).Select(m => m.Groups["url"].Value.Replace("&amp;", "&", StringComparison.Ordinal)).Distinct().ToList();
        Assert.That(links, Has.Some.StartsWith("/css/site.css?v=").And.Some.StartsWith("/favicon.svg?v="));
        foreach (var link in links)
        {
            using var response = await client.GetAsync(new Uri(link, UriKind.Relative));
            Assert.That(response.Headers.CacheControl?.ToString(), Is.EqualTo("public, max-age=31536000, immutable"), link);
        }
        using var unversioned = await client.GetAsync(new Uri("/css/site.css", UriKind.Relative));
        Assert.That(unversioned.Headers.CacheControl?.MaxAge, Is.Null, "a URL without a version may change under the same name");
    }

    [Test]
    public async Task Every_page_has_its_own_meta_description()
    {
        using var client = NewClient();
        var descriptions = new List<string>();
        foreach (var path in Pages)
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            var match = Description().Match(await response.Content.ReadAsStringAsync());
            Assert.That(match.Success, Is.True, $"{path} has a meta description");
            descriptions.Add(match.Groups["content"].Value);
        }
        Assert.That(descriptions, Is.Unique.And.All.Length.GreaterThan(40));
    }

    private static string Decompress(byte[] data, string encoding)
    {
        using var input = new MemoryStream(data);
        using Stream decoder = encoding == "br" ? new BrotliStream(input, CompressionMode.Decompress) : new GZipStream(input, CompressionMode.Decompress);
        using var reader = new StreamReader(decoder);
        return reader.ReadToEnd();
    }

    [GeneratedRegex("(?:href|src)=\"(?<url>/[^\"]+\\?v=[^\"]+)\"")]
    private static partial Regex VersionedLink();

    [GeneratedRegex("""<meta name="description" content="(?<content>[^"]*)" />""")]
    private static partial Regex Description();
}

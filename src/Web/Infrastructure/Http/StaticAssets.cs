using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Net.Http.Headers;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>
/// What pages and static files cost the network: Brotli or gzip for text (pages, CSS, JSON), and a year of caching for
/// the static files the pages link with a version (<c>asp-append-version</c> adds <c>?v=&lt;hash of the content&gt;</c>,
/// so a changed file gets a new URL and the cached copy is never stale).
/// </summary>
public static class StaticAssets
{
    /// <summary>The Cache-Control of a versioned static file: a year, and no revalidation while it lasts.</summary>
    public const string VersionedCacheControl = "public, max-age=31536000, immutable";

    public static IServiceCollection AddVigieCompression(this IServiceCollection services)
    {
        // EnableForHttps stays off: pages carry antiforgery tokens, and compressing secrets beside attacker-chosen text
        // over TLS is what BREACH exploits. Behind a TLS-terminating proxy, that proxy decides.
        services.AddResponseCompression(options =>
        {
            options.Providers.Add<BrotliCompressionProvider>();
            options.Providers.Add<GzipCompressionProvider>();
            options.MimeTypes = ResponseCompressionDefaults.MimeTypes.Concat(["image/svg+xml", "application/problem+json", "text/csv"]);
        });
        // Fastest: the pages are small and generated per request; the CPU matters more than the last percent.
        services.Configure<BrotliCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest);
        services.Configure<GzipCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest);
        return services;
    }

    /// <summary>Static files from wwwroot; a request naming a version (<c>?v=</c>) is cached for a year.</summary>
    public static IApplicationBuilder UseVigieStaticFiles(this IApplicationBuilder app) =>
        app.UseStaticFiles(new StaticFileOptions
        {
            OnPrepareResponse = context =>
            {
                if (context.Context.Request.Query.ContainsKey("v"))
                {
                    context.Context.Response.Headers[HeaderNames.CacheControl] = VersionedCacheControl;
                }
            },
        });
}

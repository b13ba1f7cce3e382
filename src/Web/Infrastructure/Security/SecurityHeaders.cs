namespace Vigie.Web.Infrastructure.Security;

/// <summary>
/// The response headers every answer carries (pages, static files, the JSON API, problem details, health, OpenAPI),
/// through NetEscapades.AspNetCore.SecurityHeaders.
/// </summary>
/// <remarks>
/// The UI runs no script at all, so the Content-Security-Policy allows none: <c>default-src 'none'</c> with only the
/// stylesheet and images from the app itself (<c>'self'</c>, no inline styles), forms posting back to the app, no
/// <c>&lt;base&gt;</c> from elsewhere and no framing (<c>frame-ancestors 'none'</c>, with <c>X-Frame-Options: DENY</c> for
/// older browsers). Injected markup could then neither run nor load anything. <c>nosniff</c> keeps a results CSV or a
/// JSON answer from being read as HTML; <c>Referrer-Policy: no-referrer</c> keeps page addresses (history filters,
/// prediction ids) out of the requests of the Grafana and Prometheus links.
/// </remarks>
public static class SecurityHeaders
{
    /// <summary>
    /// The policy of the interactive API reference (Scalar), the one page that runs script: its scripts only from the app
    /// with this response's nonce, its requests only to the app; styles inline (the reference builds them at run time),
    /// fonts and images from the app or inline data. Nothing is loaded from elsewhere, so it works offline.
    /// </summary>
    public const string ApiReferencePolicy = "api-reference";

    public static IServiceCollection AddVigieSecurityHeaders(this IServiceCollection services) =>
        services.AddSecurityHeaderPolicies(policies => policies
            .AddPolicy(ApiReferencePolicy, headers => headers
                .AddDefaultSecurityHeaders()
                .AddReferrerPolicyNoReferrer()
                .AddPermissionsPolicyWithDefaultSecureDirectives()
                .AddContentSecurityPolicy(csp =>
                {
                    csp.AddDefaultSrc().None();
                    csp.AddScriptSrc().Self().WithNonce();
                    csp.AddStyleSrc().Self().UnsafeInline();
                    csp.AddImgSrc().Self().Data();
                    csp.AddFontSrc().Self().Data();
                    csp.AddConnectSrc().Self();
                    csp.AddWorkerSrc().Self().Blob();
                    csp.AddFormAction().Self();
                    csp.AddBaseUri().Self();
                    csp.AddFrameAncestors().None();
                }))
            .SetDefaultPolicy(headers => headers
            // nosniff, X-Frame-Options DENY, Cross-Origin-Opener-Policy same-origin, no Server header, HSTS over HTTPS.
            .AddDefaultSecurityHeaders()
            .AddReferrerPolicyNoReferrer()
            .AddPermissionsPolicyWithDefaultSecureDirectives()
            .AddContentSecurityPolicy(csp =>
            {
                csp.AddDefaultSrc().None();
                csp.AddStyleSrc().Self();
                csp.AddImgSrc().Self();
                csp.AddFormAction().Self();
                csp.AddBaseUri().Self();
                csp.AddFrameAncestors().None();
            })));

    /// <summary>First in the pipeline, so error pages and problem details written further in carry the headers too.</summary>
    public static IApplicationBuilder UseVigieSecurityHeaders(this IApplicationBuilder app) => app.UseSecurityHeaders();
}

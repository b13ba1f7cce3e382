using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Vigie.Web.Infrastructure.Http;

namespace Vigie.Web.Infrastructure.DataProtection;

/// <summary>
/// Until the key ring has been read, a page request first makes the framework load it, so a database that cannot give
/// it answers 503 with the error page (database unavailable) — for a form being shown, and for a form being posted,
/// whose token check would otherwise fail as a 400 "invalid token" though the token is good. The API does not use
/// antiforgery and is not held up. After the first read this is one volatile read per request.
/// </summary>
internal sealed class KeyRingCheck(RequestDelegate next, DataProtectionKeyStore keys, IDataProtectionProvider protection)
{
    private readonly IDataProtector _probe = protection.CreateProtector("Vigie.KeyRingCheck");

    public Task InvokeAsync(HttpContext context)
    {
        // The error page itself (re-executed after this threw) renders without antiforgery: not checked again.
        if (!keys.HasBeenRead && !ProblemResponses.IsApiRequest(context)
            && context.Features.Get<IExceptionHandlerFeature>() is null && context.Features.Get<IStatusCodeReExecuteFeature>() is null)
        {
            // Throws (a CryptographicException around DatabaseUnavailableException) when the ring cannot be read.
            _probe.Protect([]);
        }
        return next(context);
    }
}

/// <summary>Wires Data Protection to the key ring in PostgreSQL.</summary>
public static class DataProtectionRegistration
{
    /// <summary>Application name shared by every instance: it isolates the keys' purposes, so it must not differ between them.</summary>
    public const string ApplicationName = "vigie";

    public static IServiceCollection AddVigieDataProtection(this IServiceCollection services)
    {
        services.AddSingleton<DataProtectionKeyStore>();
        services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddOptions<KeyManagementOptions>().Configure<DataProtectionKeyStore>((options, keys) => options.XmlRepository = keys);
        return services;
    }

    public static IApplicationBuilder UseKeyRingCheck(this IApplicationBuilder app) => app.UseMiddleware<KeyRingCheck>();
}

using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Infrastructure.Http;

namespace Vigie.Web.Infrastructure.DataProtection;

/// <summary>
/// Until the key ring has been read, a page request first makes the framework load it, so a database that cannot give
/// it answers 503 with the error page (database unavailable) — for a form being shown, and for a form being posted,
/// whose token check would otherwise fail as a 400 "invalid token" though the token is good. The API does not use
/// antiforgery and is not held up. After the first read this is one volatile read per request.
/// </summary>
internal sealed class KeyRingCheck(RequestDelegate next, DataProtectionKeyStore keys, DatabaseStatus database, IDataProtectionProvider protection)
{
    private readonly IDataProtector _probe = protection.CreateProtector(KeyRingWarmup.Purpose);

    public Task InvokeAsync(HttpContext context)
    {
        // The error page itself (re-executed after this threw) renders without antiforgery: not checked again.
        if (!keys.HasBeenRead && !ProblemResponses.IsApiRequest(context)
            && context.Features.Get<IExceptionHandlerFeature>() is null && context.Features.Get<IStatusCodeReExecuteFeature>() is null)
        {
            // Known unavailable: 503 without asking the framework, which would log each failed read at error level.
            database.ThrowIfUnavailable("data_protection_keys");
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

    /// <summary>
    /// Registers Data Protection on the PostgreSQL key ring. Call it after everything that registers Data Protection
    /// itself (Razor Pages, antiforgery): the framework's start-up read of the ring is replaced by
    /// <see cref="KeyRingWarmup"/>, which reads it once the schema is migrated. The framework's runs while the host
    /// starts, before the migrations, so it failed — and logged an error — at every start.
    /// </summary>
    public static IServiceCollection AddVigieDataProtection(this IServiceCollection services)
    {
        services.AddSingleton<DataProtectionKeyStore>();
        services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddOptions<KeyManagementOptions>().Configure<DataProtectionKeyStore>((options, keys) => options.XmlRepository = keys);
        var frameworkWarmup = services.Where(d => d.ServiceType == typeof(IHostedService)
            && d.ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService").ToList();
        foreach (var descriptor in frameworkWarmup)
        {
            services.Remove(descriptor);
        }
        services.AddHostedService<KeyRingWarmup>();
        return services;
    }

    public static IApplicationBuilder UseKeyRingCheck(this IApplicationBuilder app) => app.UseMiddleware<KeyRingCheck>();
}

/// <summary>
/// Reads the key ring (creating the first key if the ring is empty) as soon as the schema is migrated, so the first
/// form shown does not pay for it; retried with back-off while the database does not answer.
/// </summary>
internal sealed class KeyRingWarmup(DatabaseStatus database, DataProtectionKeyStore keys, IDataProtectionProvider protection, BackgroundLoops loops, ILogger<KeyRingWarmup> logger) : BackgroundService
{
    /// <summary>Purpose of the protector used only to make the framework load the ring.</summary>
    internal const string Purpose = "Vigie.KeyRingCheck";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var protector = protection.CreateProtector(Purpose);
        var backoff = BackgroundLoops.NewBackoff();
        try
        {
            while (!keys.HasBeenRead)
            {
                if (!database.Ready)
                {
                    await Task.Delay(100, stoppingToken);
                    continue;
                }
                try
                {
                    protector.Protect([]);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Read by the next page request otherwise; counted, since a ring the database cannot give is not an outage.
                    loops.Failed("key_ring_warmup", ex, logger);
                    await Task.Delay(backoff.Failed(), stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

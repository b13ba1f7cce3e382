using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Vigie.Web.Infrastructure.Configuration;
using Vigie.Web.Infrastructure.Http;

namespace Vigie.Web.Infrastructure.Security;

/// <summary>
/// Per-client request limits (<c>RateLimits:*</c>), counted per client address in fixed windows. A count of 0 turns
/// that limit off.
/// </summary>
/// <remarks>
/// The client is the connection's address (an IPv6 client by its /64, which one host owns). Behind a reverse proxy,
/// or a container engine whose port forwarding hides the source address (rootless Docker), every client shares the
/// proxy's address and so one budget: raise the limits there, or turn the write limit off.
/// </remarks>
public sealed class RateLimitOptions
{
    /// <summary>
    /// Admin sign-in attempts (the Models page's token form) per client per <see cref="SignInWindowSeconds"/>, right or
    /// wrong. A person types the token once per session; guessing it needs many tries, so the limit is low.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int SignInAttempts { get; set; } = 5;

    [Range(1, 86400)]
    public double SignInWindowSeconds { get; set; } = 60;

    /// <summary>
    /// Batch uploads (<c>POST /api/predictions/batch</c> and the Batch page, one budget) per client per
    /// <see cref="UploadWindowSeconds"/>. Each may be <c>Batch:MaxUploadBytes</c> of rows, all scored and copied in one
    /// transaction: the most expensive request the app takes.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int Uploads { get; set; } = 30;

    [Range(1, 86400)]
    public double UploadWindowSeconds { get; set; } = 60;

    /// <summary>
    /// Write API requests (predictions, feedback, the model admin actions, Alertmanager's notifications) per client per
    /// <see cref="WriteWindowSeconds"/>. Generous on purpose: 2,000 a second is far beyond any client a person writes,
    /// and a sixth of what the app serves on two cores (README, Reliability and performance), so one runaway client cannot
    /// take it all. The benchmark turns it off: its one load generator is meant to find the app's ceiling.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int Writes { get; set; } = 2000;

    [Range(0.1, 3600)]
    public double WriteWindowSeconds { get; set; } = 1;
}

/// <summary>
/// ASP.NET Core's rate limiter on the write API and the uploads (policies <see cref="Writes"/> and
/// <see cref="Uploads"/>, required by those endpoints), and the admin sign-in's own limiter (<see cref="SignInThrottle"/>).
/// A request over a limit answers 429 with <c>Retry-After</c>: problem+json on the API, the designed error page on a page.
/// </summary>
public static class ClientRateLimits
{
    /// <summary>Policy of the write API's endpoints.</summary>
    public const string Writes = "writes";

    /// <summary>Policy of the batch upload endpoint and page.</summary>
    public const string Uploads = "uploads";

    public static IServiceCollection AddVigieRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<RateLimitOptions>(configuration, "RateLimits");
        services.AddSingleton<SignInThrottle>();
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = RejectAsync;
        });
        services.AddOptions<RateLimiterOptions>().Configure<RateLimitOptions>((options, limits) =>
        {
            options.AddPolicy(Writes, context => PerClient(context, limits.Writes, limits.WriteWindowSeconds));
            options.AddPolicy(Uploads, context => PerClient(context, limits.Uploads, limits.UploadWindowSeconds));
        });
        return services;
    }

    /// <summary>After the HTTP metrics and the request log (a 429 is counted and logged like any answer), before the endpoints.</summary>
    public static IApplicationBuilder UseVigieRateLimits(this IApplicationBuilder app) => app.UseRateLimiter();

    /// <summary>The client a limit is counted for: the connection's address, an IPv6 one by its /64.</summary>
    public static string ClientAddress(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return new IPAddress(bytes) + "/64";
        }
        return address.ToString();
    }

    /// <summary>A fixed window per client of <paramref name="permits"/> per <paramref name="windowSeconds"/>; reads are never limited.</summary>
    internal static RateLimitPartition<string> PerClient(HttpContext context, int permits, double windowSeconds)
    {
        var method = context.Request.Method;
        if (permits == 0 || HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
        {
            return RateLimitPartition.GetNoLimiter(string.Empty);
        }
        return RateLimitPartition.GetFixedWindowLimiter(ClientAddress(context), _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = TimeSpan.FromSeconds(windowSeconds),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    /// <summary>Whole seconds until the lease's limiter has a permit again (at least 1).</summary>
    internal static int RetryAfterSeconds(RateLimitLease lease, double windowSeconds) =>
        Math.Max(1, (int)Math.Ceiling(lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter.TotalSeconds : windowSeconds));

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var seconds = RetryAfterSeconds(rejected.Lease, 1);
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        if (ProblemResponses.IsApiRequest(context))
        {
            await TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
                detail: $"This client sent more requests of this kind than the server accepts in a short time; nothing was done. Try again in {seconds} s.",
                extensions: new Dictionary<string, object?> { ["traceId"] = ProblemResponses.TraceId(context) }).ExecuteAsync(context);
        }
        // A page gets the designed error page for 429 from the status code pages (the response has no body yet).
    }
}

/// <summary>
/// Admin sign-in attempts per client (<c>RateLimits:SignInAttempts</c> per <c>RateLimits:SignInWindowSeconds</c>),
/// checked by the Models page's sign-in handler itself so that a refusal is a message beside the token field.
/// </summary>
public sealed class SignInThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<HttpContext> _limiter;
    private readonly double _windowSeconds;

    public SignInThrottle(RateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _windowSeconds = options.SignInWindowSeconds;
        // Every attempt counts (POST only reaches here), so the method check of the policies does not apply.
        _limiter = PartitionedRateLimiter.Create<HttpContext, string>(context => options.SignInAttempts == 0
            ? RateLimitPartition.GetNoLimiter(string.Empty)
            : RateLimitPartition.GetFixedWindowLimiter(ClientRateLimits.ClientAddress(context), _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = options.SignInAttempts,
                Window = TimeSpan.FromSeconds(options.SignInWindowSeconds),
                QueueLimit = 0,
            }));
    }

    /// <summary>
    /// Counts an attempt of the request's client. Null when it may go on; otherwise the seconds to wait, with the
    /// response already set to 429 and <c>Retry-After</c>.
    /// </summary>
    public int? Refuse(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var lease = _limiter.AttemptAcquire(context);
        if (lease.IsAcquired)
        {
            return null;
        }
        var seconds = ClientRateLimits.RetryAfterSeconds(lease, _windowSeconds);
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return seconds;
    }

    public void Dispose() => _limiter.Dispose();
}

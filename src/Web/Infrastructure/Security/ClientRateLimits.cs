using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Vigie.Web.Infrastructure.Configuration;
using Vigie.Web.Infrastructure.Http;

namespace Vigie.Web.Infrastructure.Security;

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

using System.Globalization;
using System.Threading.RateLimiting;

namespace Vigie.Web.Infrastructure.Security;

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

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Vigie.Web.Infrastructure.Security;

namespace Vigie.Web.Features.Models;

/// <summary>
/// The admin token that guards every model-changing action: configuration key <c>admin_token</c>, read in compose
/// from the secret file <c>/run/secrets/admin_token</c> (KeyPerFile provider; generated into <c>secrets/admin_token</c>
/// by build.cake). Comparisons are constant-time (<see cref="SharedSecret"/>). Without a configured token every admin
/// action is refused.
/// </summary>
public sealed class AdminToken
{
    /// <summary>Configuration key (and secret file name).</summary>
    public const string Key = "admin_token";

    /// <summary>The security scheme of the model changes in the OpenAPI document.</summary>
    public const string Scheme = "adminToken";

    /// <summary>The Models page's admin cookie: HttpOnly, SameSite=Strict, valid for <see cref="SessionLifetime"/>.</summary>
    public const string CookieName = "vigie_admin";

    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    private readonly SharedSecret? _token;
    private readonly byte[]? _sessionKey;
    private readonly TimeProvider _clock;

    public AdminToken(IConfiguration configuration, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _clock = clock;
        var token = configuration[Key]?.Trim();
        if (!string.IsNullOrEmpty(token))
        {
            _token = SharedSecret.From(token);
            // The cookie is signed with a key derived from the token: every instance sharing the token accepts it,
            // and changing the token ends every session.
            _sessionKey = HMACSHA256.HashData(Encoding.UTF8.GetBytes(token), "vigie-admin-session"u8);
        }
    }

    /// <summary>False when no token is configured: admin actions are then disabled.</summary>
    public bool IsConfigured => _token is not null;

    /// <summary>Constant-time check of a presented token.</summary>
    public bool Matches(string? presented) => _token?.Matches(presented) ?? false;

    /// <summary>True when the request carries <c>Authorization: Bearer &lt;token&gt;</c> with the admin token.</summary>
    public bool Authorizes(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _token?.MatchesBearer(request.Headers.Authorization.ToString()) ?? false;
    }

    /// <summary>A session cookie value: expiry and its HMAC under the token-derived key.</summary>
    public string NewSession()
    {
        var key = _sessionKey ?? throw new InvalidOperationException("No admin token is configured.");
        var expires = _clock.GetUtcNow().Add(SessionLifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return expires + "." + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(expires))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>True when <paramref name="cookie"/> is a session this token signed and it has not expired.</summary>
    public bool IsValidSession(string? cookie)
    {
        if (_sessionKey is null || string.IsNullOrEmpty(cookie) || cookie.Split('.') is not [var expires, var signature]
            || !long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var unix)
            || DateTimeOffset.FromUnixTimeSeconds(Math.Min(unix, 253402300799)) < _clock.GetUtcNow())
        {
            return false;
        }
        var expected = Convert.ToBase64String(HMACSHA256.HashData(_sessionKey, Encoding.UTF8.GetBytes(expires))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(expected));
    }
}

/// <summary>Endpoint filter of the model-changing API: 401 problem+json unless the bearer token is the admin token.</summary>
internal sealed class RequireAdminToken(AdminToken token) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (token.Authorizes(context.HttpContext.Request))
        {
            return await next(context);
        }
        context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer realm=\"vigie-admin\"";
        return TypedResults.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "Admin token required",
            detail: token.IsConfigured
                ? "Model changes need 'Authorization: Bearer <admin token>' with the token of secrets/admin_token."
                : "No admin token is configured (secret file admin_token, configuration key admin_token): model changes are disabled.");
    }
}

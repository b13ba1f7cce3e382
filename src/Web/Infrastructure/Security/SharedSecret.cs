using System.Security.Cryptography;
using System.Text;

namespace Vigie.Web.Infrastructure.Security;

/// <summary>
/// A configured shared secret (the admin token, Alertmanager's webhook token) and the one way a presented value is
/// compared with it. Both sides are hashed with SHA-256 first and the digests compared with
/// <see cref="CryptographicOperations.FixedTimeEquals"/>: the digests always have the same length, so neither the
/// content nor the length of the secret can be learned from response times (comparing the raw bytes returns at once
/// when the lengths differ, which tells an attacker the secret's length).
/// </summary>
public sealed class SharedSecret
{
    private const string BearerScheme = "Bearer ";

    private readonly byte[] _digest;

    private SharedSecret(byte[] digest) => _digest = digest;

    /// <summary>The secret of a configuration value (surrounding whitespace, such as a secret file's newline, ignored); null when it is empty or missing.</summary>
    public static SharedSecret? From(string? configured) =>
        configured?.Trim() is { Length: > 0 } value ? new SharedSecret(Digest(value)) : null;

    /// <summary>True when <paramref name="presented"/> (trimmed) is the secret; constant time whatever its length.</summary>
    public bool Matches(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Digest(presented.Trim()), _digest);

    /// <summary>True when <paramref name="authorizationHeader"/> is <c>Bearer &lt;secret&gt;</c> (scheme case-insensitive).</summary>
    public bool MatchesBearer(string? authorizationHeader) =>
        authorizationHeader is not null
        && authorizationHeader.StartsWith(BearerScheme, StringComparison.OrdinalIgnoreCase)
        && Matches(authorizationHeader[BearerScheme.Length..]);

    private static byte[] Digest(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));
}

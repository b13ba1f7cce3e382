using Dapper;
using Vigie.Web.Infrastructure.Database;

namespace Vigie.Web.Infrastructure.Idempotency;

/// <summary>The first answer to an idempotency key: null status while the first request is still running.</summary>
public sealed record StoredAnswer(byte[] RequestHash, int? Status, string? ContentType, string? Location, byte[]? Body);

/// <summary>SQL of <c>idempotency_keys</c>: claim a key, complete it with its answer, release it, delete expired ones.</summary>
public sealed class IdempotencyStore(VigieDatabase database)
{
    /// <summary>Rows deleted per cleanup statement, so one round never holds a long lock on a table full of expired keys.</summary>
    public const int CleanupBatch = 1000;

    /// <summary>
    /// Claims <paramref name="key"/> for this request (true), or returns false when it is held: the insert is atomic, so of
    /// concurrent requests with one key exactly one claims it. An expired key is claimed again.
    /// </summary>
    public Task<bool> TryClaimAsync(string operation, string key, byte[] requestHash, TimeSpan retention, CancellationToken cancellationToken) =>
        database.RunAsync("idempotency_keys", async connection => await connection.ExecuteScalarAsync<int?>(new CommandDefinition("""
            INSERT INTO idempotency_keys (operation, key, request_hash, expires_at)
            VALUES (@operation, @key, @requestHash, now() + @retention)
            ON CONFLICT (operation, key) DO UPDATE
                SET request_hash = EXCLUDED.request_hash, status = NULL, content_type = NULL, location = NULL, body = NULL,
                    created_at = now(), expires_at = EXCLUDED.expires_at
                WHERE idempotency_keys.expires_at < now()
            RETURNING 1
            """, new { operation, key, requestHash, retention }, cancellationToken: cancellationToken)) is not null, cancellationToken);

    public Task<StoredAnswer?> FindAsync(string operation, string key, CancellationToken cancellationToken) =>
        database.RunAsync("idempotency_keys", connection => connection.QuerySingleOrDefaultAsync<StoredAnswer>(new CommandDefinition("""
            SELECT request_hash AS RequestHash, status AS Status, content_type AS ContentType, location AS Location, body AS Body
            FROM idempotency_keys WHERE operation = @operation AND key = @key AND expires_at >= now()
            """, new { operation, key }, cancellationToken: cancellationToken)), cancellationToken);

    public Task CompleteAsync(string operation, string key, int status, string? contentType, string? location, byte[] body, CancellationToken cancellationToken) =>
        database.RunAsync("idempotency_keys", connection => connection.ExecuteAsync(new CommandDefinition("""
            UPDATE idempotency_keys SET status = @status, content_type = @contentType, location = @location, body = @body
            WHERE operation = @operation AND key = @key
            """, new { operation, key, status, contentType, location, body }, cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>Forgets a claim whose request stored nothing (it failed), so a retry runs it again.</summary>
    public Task ReleaseAsync(string operation, string key, CancellationToken cancellationToken) =>
        database.RunAsync("idempotency_keys", connection => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM idempotency_keys WHERE operation = @operation AND key = @key AND status IS NULL",
            new { operation, key }, cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>Deletes up to <see cref="CleanupBatch"/> expired keys; returns how many.</summary>
    public Task<int> DeleteExpiredAsync(CancellationToken cancellationToken) =>
        database.RunAsync("idempotency_keys", connection => connection.ExecuteAsync(new CommandDefinition("""
            DELETE FROM idempotency_keys WHERE ctid IN (
                SELECT ctid FROM idempotency_keys WHERE expires_at < now() ORDER BY expires_at LIMIT @limit)
            """, new { limit = CleanupBatch }, cancellationToken: cancellationToken)), cancellationToken);
}

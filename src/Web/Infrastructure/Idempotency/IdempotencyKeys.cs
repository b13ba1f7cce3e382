using System.Security.Cryptography;
using System.Text;
using Microsoft.Net.Http.Headers;
using Vigie.Web.Infrastructure.Configuration;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Infrastructure.Http;

namespace Vigie.Web.Infrastructure.Idempotency;

/// <summary>Endpoint metadata: the operation honours an <c>Idempotency-Key</c> header.</summary>
public sealed record IdempotentMetadata;

/// <summary>
/// <c>Idempotency-Key</c> on the API's writes: the first request with a key runs and its answer is kept (PostgreSQL, so
/// every replica honours it, for <see cref="IdempotencyOptions.RetentionHours"/>); a repeat with the same key and body
/// gets that answer again (same status, body and Location, plus <c>Idempotency-Replayed: true</c>) and stores nothing;
/// the same key with another body answers 422. Concurrent repeats wait for the first one's answer. A request that
/// fails (an exception, a 5xx) releases its key: nothing was stored, so a retry must run again.
/// </summary>
public static class IdempotencyKeys
{
    public const string Header = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotency-Replayed";

    /// <summary>Marks the operation as honouring <c>Idempotency-Key</c>; the document declares the header and its 422.</summary>
    public static TBuilder AcceptsIdempotencyKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new IdempotentMetadata()).ProducesProblems(StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);

    public static IServiceCollection AddVigieIdempotency(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<IdempotencyOptions>(configuration, "Idempotency");
        services.AddSingleton<IdempotencyStore>();
        services.AddHostedService<ExpiredKeyCleanup>();
        return services;
    }

    /// <summary>After routing (the endpoint's metadata says whether it honours keys) and rate limits (a replay counts).</summary>
    public static IApplicationBuilder UseVigieIdempotency(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<IdempotentMetadata>() is null
                || context.Request.Headers[Header] is not [{ } key])
            {
                await next(context);
                return;
            }
            await HandleAsync(context, key, next);
        });

    private static async Task HandleAsync(HttpContext context, string key, RequestDelegate next)
    {
        var services = context.RequestServices;
        var store = services.GetRequiredService<IdempotencyStore>();
        var options = services.GetRequiredService<IdempotencyOptions>();
        var cancellationToken = context.RequestAborted;
        if (key.Length is 0 or > 255)
        {
            await Problem(context, StatusCodes.Status400BadRequest, "Invalid Idempotency-Key", "An Idempotency-Key has 1 to 255 characters.");
            return;
        }
        var operation = $"{context.Request.Method} {context.Request.Path}";
        var hash = await HashBodyAsync(context.Request, cancellationToken);

        if (!await store.TryClaimAsync(operation, key, hash, TimeSpan.FromHours(options.RetentionHours), cancellationToken))
        {
            await ReplayAsync(context, store, options, operation, key, hash);
            return;
        }
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        catch
        {
            context.Response.Body = original;
            await store.ReleaseAsync(operation, key, CancellationToken.None);
            throw;
        }
        context.Response.Body = original;
        var body = buffer.ToArray();
        if (context.Response.StatusCode >= 500)
        {
            await store.ReleaseAsync(operation, key, CancellationToken.None);
        }
        else
        {
            await store.CompleteAsync(operation, key, context.Response.StatusCode, context.Response.ContentType,
                context.Response.Headers.Location.ToString() is { Length: > 0 } location ? location : null, body, CancellationToken.None);
        }
        await original.WriteAsync(body, cancellationToken);
    }

    private static async Task ReplayAsync(HttpContext context, IdempotencyStore store, IdempotencyOptions options, string operation, string key, byte[] hash)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(options.WaitSeconds);
        while (true)
        {
            var stored = await store.FindAsync(operation, key, context.RequestAborted);
            if (stored is null)
            {
                // Released by a first request that failed (or expired meanwhile): this one runs as the first.
                await Problem(context, StatusCodes.Status409Conflict, "Idempotency-Key in use",
                    "The first request with this Idempotency-Key failed and stored nothing; send it again.");
                return;
            }
            if (!CryptographicOperations.FixedTimeEquals(stored.RequestHash, hash))
            {
                await Problem(context, StatusCodes.Status422UnprocessableEntity, "Idempotency-Key reused",
                    "This Idempotency-Key was used with a different request body; use a new key for a new request.");
                return;
            }
            if (stored is { Status: { } status, Body: { } body })
            {
                context.Response.StatusCode = status;
                context.Response.ContentType = stored.ContentType;
                if (stored.Location is { } location)
                {
                    context.Response.Headers.Location = location;
                }
                context.Response.Headers[ReplayedHeader] = "true";
                await context.Response.Body.WriteAsync(body, context.RequestAborted);
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                await Problem(context, StatusCodes.Status409Conflict, "Idempotency-Key in use",
                    "The first request with this Idempotency-Key is still running; retry in a few seconds.");
                return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), context.RequestAborted);
        }
    }

    // SHA-256 of the body; a multipart body is hashed with its boundary blanked, since a client that retries an upload
    // (curl -F run again) sends the same parts under a new random boundary.
    private static async Task<byte[]> HashBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        request.EnableBuffering();
        using var copy = new MemoryStream();
        await request.Body.CopyToAsync(copy, cancellationToken);
        request.Body.Position = 0;
        var bytes = copy.ToArray();
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && HeaderUtilities.RemoveQuotes(type.Boundary) is { Length: > 0 } boundary)
        {
            bytes = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(bytes).Replace(boundary.Value!, string.Empty, StringComparison.Ordinal));
        }
        return SHA256.HashData(bytes);
    }

    private static Task Problem(HttpContext context, int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail,
            extensions: new Dictionary<string, object?> { ["traceId"] = ProblemResponses.TraceId(context) }).ExecuteAsync(context);

    /// <summary>Deletes expired keys in bounded rounds, so the table holds about one retention window of writes.</summary>
    private sealed class ExpiredKeyCleanup(IdempotencyStore store, IdempotencyOptions options, Database.DatabaseStatus database, BackgroundLoops loops, ILogger<ExpiredKeyCleanup> logger) : BackgroundService
    {
        private const string Loop = "idempotency_key_cleanup";

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.CleanupIntervalSeconds));
            try
            {
                while (await timer.WaitForNextTickAsync(stoppingToken))
                {
                    if (!database.Ready)
                    {
                        continue;
                    }
                    try
                    {
                        // Bounded: at most ten batches a round; what is left waits for the next round.
                        for (var round = 0; round < 10 && await store.DeleteExpiredAsync(stoppingToken) == IdempotencyStore.CleanupBatch; round++)
                        {
                        }
                    }
                    catch (Database.DatabaseUnavailableException)
                    {
                        // The probe reports outages; the next round deletes what this one could not.
                    }
                    catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                    {
                        loops.Failed(Loop, ex, logger);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }
    }
}

using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Vigie.Web.Infrastructure.Http;
using Vigie.Web.Infrastructure.Security;

namespace Vigie.Web.Features.Alerts;

/// <summary>
/// The bearer token Alertmanager presents (<c>alertmanager_token</c>: the generated secret file, read through the
/// KeyPerFile provider). Without a configured token every notification is refused.
/// </summary>
public sealed class AlertWebhookToken(IConfiguration configuration)
{
    public const string ConfigurationKey = "alertmanager_token";

    /// <summary>The security scheme of the webhook in the OpenAPI document.</summary>
    public const string Scheme = "alertmanagerToken";

    private readonly SharedSecret? _expected = SharedSecret.From(configuration[ConfigurationKey]);

    public bool IsConfigured => _expected is not null;

    /// <summary>
    /// Compares the presented bearer token in constant time (<see cref="SharedSecret"/>), so neither its content nor
    /// its length can be learned from response times.
    /// </summary>
    public bool Accepts(string? authorizationHeader) => _expected?.MatchesBearer(authorizationHeader) ?? false;
}

/// <summary>The alert inbox's API: Alertmanager's webhook receiver and the list of firing alerts.</summary>
public static class AlertsApi
{
    /// <summary>Largest notification body accepted; Alertmanager's groups are a few kilobytes.</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapAlertsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/alerts").WithTags("Alerts");
        api.MapPost("", ReceiveAsync).RequireRateLimiting(ClientRateLimits.Writes).DisableAntiforgery().Accepts<AlertmanagerPayload>("application/json")
            .WithName("ReceiveAlerts").WithSummary("Alertmanager webhook (payload version 4), authenticated with the bearer token from secrets/alertmanager_token.")
            .RequireBearerToken(AlertWebhookToken.Scheme, "The token Alertmanager presents (secrets/alertmanager_token).");
        api.MapGet("", async (AlertInbox inbox, CancellationToken cancellationToken) => TypedResults.Ok((await inbox.FiringNowAsync(cancellationToken)).Firing))
            .WithName("FiringAlerts").WithSummary("Alerts firing now, most severe first.");
        return app;
    }

    private static async Task<Results<Ok<AlertReceipt>, ValidationProblem, ProblemHttpResult>> ReceiveAsync(
        HttpContext context, AlertWebhookToken token, AlertInbox inbox, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!token.Accepts(context.Request.Headers.Authorization))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: "A valid bearer token is required to deliver alerts.");
        }
        if (!context.Request.HasJsonContentType())
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
                detail: "Alert notifications are JSON (Content-Type: application/json).");
        }
        var body = await ReadLimitedAsync(context.Request, cancellationToken);
        if (body is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request too large",
                detail: $"Alert notifications are limited to {MaxBodyBytes:N0} bytes.");
        }
        AlertmanagerPayload? payload;
        try
        {
            payload = JsonSerializer.Deserialize<AlertmanagerPayload>(body, Json);
        }
        catch (JsonException ex)
        {
            return JsonBodyErrors.FieldErrors(ex, typeof(AlertmanagerPayload)) is { } fieldErrors
                ? TypedResults.ValidationProblem(fieldErrors)
                : TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: JsonBodyErrors.MalformedTitle, detail: JsonBodyErrors.MalformedDetail(ex));
        }
        var (notifications, errors) = AlertPayloadReader.Read(payload, clock.GetUtcNow());
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        // Stored before the 200; a database that is down answers 503 (problem+json, Retry-After) and Alertmanager resends.
        await inbox.ReceiveAsync(notifications, cancellationToken);
        return TypedResults.Ok(new AlertReceipt(notifications.Count));
    }

    // Reads at most MaxBodyBytes; null when the body is larger (declared or actual), without buffering the excess.
    private static async Task<byte[]?> ReadLimitedAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}

/// <summary>Answer to Alertmanager: how many alerts were taken in.</summary>
public sealed record AlertReceipt(int Received);

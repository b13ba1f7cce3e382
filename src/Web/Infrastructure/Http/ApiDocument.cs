using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Vigie.Web.Infrastructure.Http;

/// <summary>Endpoint metadata: the operation needs <c>Authorization: Bearer</c> with the token of <see cref="Scheme"/>.</summary>
public sealed record BearerTokenMetadata(string Scheme, string Description);

/// <summary>Endpoint metadata: the problem+json statuses an operation answers beyond those its shape implies.</summary>
public sealed record ProblemStatusesMetadata(IReadOnlyList<int> Statuses);

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>) as a contract, generated from the endpoints by transformers: every
/// problem+json answer an operation can give (from what it is: a body, a rate limit, a bearer token, the database behind
/// it, plus what its mapping declares), the bearer schemes, <c>security: []</c> on the open operations, and the one
/// nullability rule of the API: every property of an answer is present, null when it has no value.
/// </summary>
public static class ApiDocument
{
    /// <summary>Name of the problem details schema every error response refers to.</summary>
    public const string ProblemSchema = "ProblemDetails";

    /// <summary>Declares the token an operation needs; the document lists it under that scheme.</summary>
    public static TBuilder RequireBearerToken<TBuilder>(this TBuilder builder, string scheme, string description) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new BearerTokenMetadata(scheme, description));

    /// <summary>Declares problem+json statuses the operation answers (404, 409…) that the document cannot infer.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ProblemStatusesMetadata(statuses));

    public static IServiceCollection AddVigieApiDocument(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddOperationTransformer(DeclareErrorsAndSecurity);
            options.AddDocumentTransformer(DescribeDocument);
        });

    /// <summary>
    /// Serves the document at <c>/openapi/v1.json</c> and the interactive reference (Scalar, bundled in its package) at
    /// <c>/scalar/v1</c>: no font, script or telemetry from elsewhere, so it works offline.
    /// </summary>
    public static WebApplication MapVigieApiDocument(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference((options, context) =>
            {
                options.Title = "Vigie API";
                options.DefaultFonts = false;
                options.Telemetry = false;
                options.Nonce = NetEscapades.AspNetCore.SecurityHeaders.HttpContextExtensions.GetNonce(context);
                // Scalar's page template has no lang attribute (axe: html-has-lang); screen readers need the language.
                options.HeadContent = $"<script nonce=\"{options.Nonce}\">document.documentElement.lang = 'en';</script>";
                options.HideClientButton = true;
                options.CustomCss = ApiReferenceContrast;
            })
            .WithSecurityHeadersPolicy(Security.SecurityHeaders.ApiReferencePolicy);
        return app;
    }

    /// <summary>
    /// Scalar's default light theme draws secondary text, HTTP methods and client tabs below WCAG AA's 4.5:1 (axe:
    /// color-contrast, on a page of this app): its own colour variables, darkened to pass on its white and grey panels.
    /// </summary>
    private const string ApiReferenceContrast = """
        .light-mode {
          --scalar-color-1: #1a1a1a; --scalar-color-2: #3d3d3d; --scalar-color-3: #555555;
          --scalar-color-green: #116329; --scalar-color-blue: #0b57d0; --scalar-color-orange: #8f3a00;
          --scalar-color-red: #b3261e; --scalar-color-yellow: #6b4f00; --scalar-color-purple: #6a2db0;
          --scalar-sidebar-color-2: #3d3d3d; --scalar-sidebar-search-color: #555555;
        }
        """;

    private static Task DescribeDocument(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Vigie API",
            Version = "v1",
            Description = "Predicts the species of Palmer penguins (Adelie, Chinstrap, Gentoo) from four measurements, stores every " +
                "prediction, takes feedback and CSV batches, and manages the model's versions. Conventions: errors are RFC 9457 " +
                "problem+json (`errors` per field for validation, `traceId` to find the log lines); every property of an answer is " +
                "present, null when it has no value; lists page with `nextCursor`; writes accept an `Idempotency-Key` header; " +
                "writes are rate-limited per client (429 with `Retry-After`).",
        };
        document.Tags = new HashSet<OpenApiTag>
        {
            new() { Name = "Predictions", Description = "Single predictions, their feedback, and CSV batches of many." },
            new() { Name = "Model", Description = "The model this instance serves." },
            new() { Name = "Models", Description = "The model registry: versions, retraining, shadow, promotion and rollback (changes need the admin token)." },
            new() { Name = "Alerts", Description = "The alert inbox: Alertmanager's webhook (its bearer token) and the alerts firing now." },
        };
        // The generator writes the request's base URL with a trailing slash; paths start with one already.
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas.Remove("HttpValidationProblemDetails");
        document.Components.Schemas[ProblemSchema] = ProblemDetailsSchema();
        document.Components.SecuritySchemes = context.DescriptionGroups.SelectMany(g => g.Items)
            .Select(d => d.ActionDescriptor.EndpointMetadata.OfType<BearerTokenMetadata>().FirstOrDefault())
            .OfType<BearerTokenMetadata>().DistinctBy(b => b.Scheme)
            .ToDictionary(b => b.Scheme, b => (IOpenApiSecurityScheme)new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", Description = b.Description });
        ResponseSchemas.RequireEveryProperty(document);
        return Task.CompletedTask;
    }

    private static Task DeclareErrorsAndSecurity(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var description = context.Description;
        var metadata = description.ActionDescriptor.EndpointMetadata;
        var statuses = new SortedSet<int>(metadata.OfType<ProblemStatusesMetadata>().SelectMany(p => p.Statuses));
        var bearer = metadata.OfType<BearerTokenMetadata>().FirstOrDefault();
        // Every API operation reads or writes PostgreSQL or needs the model loaded from it: 503 while either is missing.
        statuses.Add(StatusCodes.Status503ServiceUnavailable);
        if (description.ParameterDescriptions.Any(p => p.Source.Id is "Query") || metadata.OfType<IAcceptsMetadata>().Any())
        {
            statuses.Add(StatusCodes.Status400BadRequest);
        }
        if (metadata.OfType<IAcceptsMetadata>().Any() || description.ParameterDescriptions.Any(p => p.Source.Id is "Body" or "FormFile" or "Form"))
        {
            statuses.UnionWith([StatusCodes.Status400BadRequest, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType]);
        }
        if (metadata.OfType<EnableRateLimitingAttribute>().Any())
        {
            statuses.Add(StatusCodes.Status429TooManyRequests);
        }
        if (bearer is not null)
        {
            statuses.Add(StatusCodes.Status401Unauthorized);
        }
        operation.Responses ??= new OpenApiResponses();
        foreach (var status in statuses)
        {
            operation.Responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = ProblemResponse(status, context.Document);
        }
        if (metadata.OfType<Idempotency.IdempotentMetadata>().Any())
        {
            DeclareIdempotencyKey(operation);
        }
        operation.Security = bearer is null
            ? []
            : [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(bearer.Scheme, context.Document)] = [] }];
        return Task.CompletedTask;
    }

    private static void DeclareIdempotencyKey(OpenApiOperation operation)
    {
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = Idempotency.IdempotencyKeys.Header,
            In = ParameterLocation.Header,
            Description = "Any unique string (a UUID): a retry with the same key and body within 24 h answers the first answer again " +
                "(same status, body and Location, with `Idempotency-Replayed: true`) and stores nothing; the same key with another body answers 422.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 255 },
        });
        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (status.StartsWith('2') && response is OpenApiResponse success)
            {
                success.Headers ??= new Dictionary<string, IOpenApiHeader>();
                success.Headers[Idempotency.IdempotencyKeys.ReplayedHeader] = new OpenApiHeader
                {
                    Description = "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [System.Text.Json.Nodes.JsonValue.Create("true")] },
                };
            }
        }
    }

    private static OpenApiResponse ProblemResponse(int status, OpenApiDocument? document)
    {
        var response = new OpenApiResponse
        {
            Description = status switch
            {
                StatusCodes.Status400BadRequest => "Invalid input: `errors` names each field (JSON name) with its messages.",
                StatusCodes.Status401Unauthorized => "The bearer token is missing or wrong.",
                StatusCodes.Status404NotFound => "There is no such resource.",
                StatusCodes.Status409Conflict => "The resource's state does not allow this change.",
                StatusCodes.Status413PayloadTooLarge => "The body is larger than the operation accepts.",
                StatusCodes.Status415UnsupportedMediaType => "The body's content type is not the one the operation reads.",
                StatusCodes.Status422UnprocessableEntity => "The Idempotency-Key was already used with a different body.",
                StatusCodes.Status429TooManyRequests => "Too many writes from this client; retry after `Retry-After` seconds.",
                StatusCodes.Status503ServiceUnavailable => "The database or the model is not available; nothing was stored. Retry after `Retry-After` seconds.",
                _ => "Error.",
            },
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, document) },
            },
        };
        if (status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
        {
            response.Headers = new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = new OpenApiHeader { Description = "Seconds to wait before retrying.", Schema = new OpenApiSchema { Type = JsonSchemaType.Integer } },
            };
        }
        return response;
    }

    // RFC 9457 problem details as ProblemResponses writes them: traceId always, errors on validation problems.
    private static OpenApiSchema ProblemDetailsSchema() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "RFC 9457 problem details. `errors` (validation only) maps each JSON field name to its messages; `traceId` is the W3C trace id of the request, as web.log holds it.",
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
            ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
            ["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            },
        },
        Required = new HashSet<string> { "title", "status", "traceId" },
        Examples = [JsonNode.Parse("""{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.","status":400,"errors":{"billLengthMm":["billLengthMm must be a number."]},"traceId":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}""")!],
    };
}

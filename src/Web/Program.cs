using Vigie.Metrics;
using Vigie.Web;
using Vigie.Web.Features.Alerts;
using Vigie.Web.Features.Batches;
using Vigie.Web.Features.Health;
using Vigie.Web.Features.Models;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.DataProtection;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Infrastructure.Http;
using Vigie.Web.Infrastructure.Logging;
using Vigie.Web.Infrastructure.Security;

var builder = WebApplication.CreateBuilder(args);

// Compose mounts secrets (db_password) as files under /run/secrets; each file becomes a configuration key.
builder.Configuration.AddKeyPerFile(builder.Configuration["SecretsDirectory"] ?? "/run/secrets", optional: true);
builder.AddVigieLogging();

builder.Services.AddVigieMetrics(builder.Configuration);
builder.Services.AddVigieBackgroundLoops();
builder.Services.AddVigieDatabase(builder.Configuration);
builder.Services.AddVigieModel(builder.Configuration);
builder.Services.AddVigieFeatures(builder.Configuration);
builder.Services.AddVigieProblemDetails();
builder.Services.AddVigieSecurityHeaders();
builder.Services.AddVigieRateLimits(builder.Configuration);
builder.Services.AddVigieHealthChecks();
builder.Services.AddOpenApi();
builder.Services.AddRazorPages(options => options.RootDirectory = "/Features");
// After Razor Pages, which registers Data Protection itself: the key ring lives in PostgreSQL, read once migrated.
builder.Services.AddVigieDataProtection();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureVigieLimits());

var app = builder.Build();

// First, so the HTTP metrics and the request-summary line see the status the error handling below answered.
app.UseRequestOutcomes();
app.UseLogEventMetrics();
app.UseVigieSecurityHeaders();
app.UseVigieErrorResponses();
app.UseStaticFiles();
app.UseKeyRingCheck();
app.UseRouting();
app.UseRequestRoutes();
app.UseVigieRateLimits();
app.UseAntiforgery();

app.MapVigieHealth();
app.MapPredictionsApi();
app.MapBatchesApi();
app.MapModelApi();
app.MapModelsApi();
app.MapAlertsApi();
app.MapOpenApi();
app.MapRazorPages();
app.MapBenchEndpoints(app.Configuration);

app.Run();

/// <summary>Entry point, public so integration tests can host the app with WebApplicationFactory.</summary>
public partial class Program;

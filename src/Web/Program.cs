using Vigie.Web;
using Vigie.Web.Features.Alerts;
using Vigie.Web.Features.Batches;
using Vigie.Web.Features.Health;
using Vigie.Web.Features.Models;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure;
using Vigie.Web.Infrastructure.Http;

var builder = WebApplication.CreateBuilder(args);

// Logging, metrics, database, error responses, security, health checks, Razor Pages, Data Protection, Kestrel limits.
builder.AddVigieDefaults();
builder.Services.AddVigieModel(builder.Configuration);
builder.Services.AddVigieFeatures(builder.Configuration);
builder.Services.AddVigieApiDocument();

var app = builder.Build();

// The middleware pipeline: request outcomes first, then error handling, static files, routing, rate limits, antiforgery.
app.UseVigieDefaults();

app.MapVigieHealth();
app.MapPredictionsApi();
app.MapBatchesApi();
app.MapModelApi();
app.MapModelsApi();
app.MapAlertsApi();
app.MapVigieApiDocument();
app.MapRazorPages();
app.MapBenchEndpoints(app.Configuration);

app.Run();

/// <summary>Entry point, public so integration tests can host the app with WebApplicationFactory.</summary>
public partial class Program;

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Vigie.Stack;
using Vigie.Testing;

// Outside Vigie.Tests.Integration, like the reliability tests: these tests promote and roll back models, and apps of
// one test process share prometheus-net's default registry (vigie_model_info) and NLog's configuration, so the shared
// app of that namespace is stopped while they run.
namespace Vigie.Tests.Features.Models;

/// <summary>One PostgreSQL cluster for the model lifecycle tests; each test class gets a database of its own in it.</summary>
[SetUpFixture]
public sealed class ModelsCluster
{
    private static PostgresCluster? s_cluster;

    public static PostgresCluster Cluster => s_cluster ?? throw new InvalidOperationException("The cluster is not started.");

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        Infrastructure.Require(PostgresCluster.IsInstalled, "PostgreSQL server binaries (initdb, pg_ctl) are not installed");
        s_cluster = await PostgresCluster.CreateAsync();
    }

    [OneTimeTearDown]
    public void Stop() => s_cluster?.Dispose();

    /// <summary>A new, empty database owned by the app's role; returns the app's connection string to it.</summary>
    public static async Task<string> NewDatabaseAsync()
    {
        var name = "models_" + Guid.NewGuid().ToString("N")[..12];
        var admin = new NpgsqlConnectionStringBuilder(Cluster.AdminConnectionString) { Database = "postgres" }.ConnectionString;
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        // The name is ours (hex), not input.
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name} OWNER {PostgresCluster.AppUser}", connection);
        await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(Cluster.AppConnectionString) { Database = name }.ConnectionString;
    }
}

/// <summary>A penguin's measurements as the API takes them.</summary>
internal sealed record Bird(double BillLengthMm, double BillDepthMm, double FlipperLengthMm, double BodyMassG)
{
    /// <summary>The base model calls it a Gentoo (p ≈ 0.86); the synthetic feedback of these tests says Chinstrap.</summary>
    public static readonly Bird Contested = new(45, 16, 210, 4500);

    /// <summary>Every model of these tests calls it an Adelie.</summary>
    public static readonly Bird Adelie = new(39.1, 18.7, 181, 3750);
}

/// <summary>
/// Apps of the real Vigie on one fresh database, with an admin token and a short registry poll, plus the HTTP and SQL
/// the lifecycle tests need.
/// </summary>
internal sealed class Lifecycle : IAsyncDisposable
{
    public const string AdminTokenValue = "models-test-admin-token";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private Lifecycle(string connectionString, IReadOnlyList<VigieAppFactory> apps)
    {
        ConnectionString = connectionString;
        Apps = apps;
    }

    public string ConnectionString { get; }

    public IReadOnlyList<VigieAppFactory> Apps { get; }

    /// <summary>
    /// Starts <paramref name="instances"/> apps on a new database, all at once, and waits until every one is ready.
    /// <paramref name="pollSeconds"/> is the registry poll (the fallback to NOTIFY).
    /// </summary>
    public static async Task<Lifecycle> StartAsync(int instances = 1, double pollSeconds = 1, IReadOnlyDictionary<string, string>? settings = null)
    {
        var connectionString = await ModelsCluster.NewDatabaseAsync();
        var all = new Dictionary<string, string>
        {
            ["admin_token"] = AdminTokenValue,
            ["Models:PollIntervalSeconds"] = pollSeconds.ToString(CultureInfo.InvariantCulture),
            ["Models:StatsIntervalSeconds"] = "1",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }
        var apps = Enumerable.Range(0, instances).Select(_ => new VigieAppFactory(connectionString, all)).ToList();
        var lifecycle = new Lifecycle(connectionString, apps);
        try
        {
            await Task.WhenAll(apps.Select(app => Task.Run(() => app.WaitUntilReadyAsync(TimeSpan.FromSeconds(90)))));
        }
        catch
        {
            await lifecycle.DisposeAsync();
            throw;
        }
        return lifecycle;
    }

    /// <summary>A client of instance <paramref name="instance"/> that does not follow redirects.</summary>
    public HttpClient Client(int instance = 0) =>
        Apps[instance].CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    /// <summary>A client sending <c>Authorization: Bearer &lt;admin token&gt;</c>.</summary>
    public HttpClient Admin(int instance = 0, string token = AdminTokenValue)
    {
        var client = Client(instance);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>(Json);

    /// <summary>POSTs a prediction; returns the stored prediction (fails the test on anything but 201).</summary>
    public static async Task<JsonElement> PredictAsync(HttpClient client, Bird bird)
    {
        using var response = await client.PostAsJsonAsync("/api/predictions", bird, Json);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
        return await JsonAsync(response);
    }

    public static async Task FeedbackAsync(HttpClient client, long id, string species)
    {
        using var response = await client.PostAsJsonAsync($"/api/predictions/{id}/feedback", new { actualSpecies = species }, Json);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// <paramref name="count"/> predictions of slightly varied <see cref="Bird.Contested"/> birds, each with feedback
    /// saying Chinstrap; returns their ids.
    /// </summary>
    public static async Task<List<long>> ContraryFeedbackAsync(HttpClient client, int count, double massOffset = 0)
    {
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            var prediction = await PredictAsync(client, Bird.Contested with { BodyMassG = Bird.Contested.BodyMassG + massOffset + i % 7 * 10 });
            var id = prediction.GetProperty("id").GetInt64();
            await FeedbackAsync(client, id, "Chinstrap");
            ids.Add(id);
        }
        return ids;
    }

    /// <summary>POST /api/models/train, then follows the run until it finishes; returns the finished run.</summary>
    public static async Task<JsonElement> TrainAsync(HttpClient admin)
    {
        using var accepted = await admin.PostAsync(new Uri("/api/models/train", UriKind.Relative), null);
        Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await accepted.Content.ReadAsStringAsync());
        var location = accepted.Headers.Location ?? throw new AssertionException("202 without Location");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            var run = await admin.GetFromJsonAsync<JsonElement>(location, Json);
            if (run.GetProperty("status").GetString() is "succeeded" or "failed")
            {
                return run;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("The training run did not finish within 60 s.");
    }

    /// <summary>Trains a candidate from <paramref name="feedback"/> contrary rows and returns its version (asserting it registered).</summary>
    public async Task<string> TrainCandidateAsync(int feedback = 40, double massOffset = 0)
    {
        using var client = Client();
        using var admin = Admin();
        await ContraryFeedbackAsync(client, feedback, massOffset);
        var run = await TrainAsync(admin);
        Assert.That(run.GetProperty("status").GetString(), Is.EqualTo("succeeded"), run.ToString());
        Assert.That(run.GetProperty("outcome").GetString(), Is.EqualTo("registered"), run.ToString());
        return run.GetProperty("candidateVersion").GetString()!;
    }

    /// <summary>The version instance <paramref name="instance"/> serves (GET /api/model).</summary>
    public async Task<string> ServedVersionAsync(int instance = 0)
    {
        using var client = Client(instance);
        return (await client.GetFromJsonAsync<JsonElement>("/api/model", Json)).GetProperty("version").GetString()!;
    }

    /// <summary>Waits until instance <paramref name="instance"/> serves <paramref name="version"/>; returns how long it took.</summary>
    public async Task<TimeSpan> WaitForServedAsync(int instance, string version, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (await ServedVersionAsync(instance) == version)
            {
                return watch.Elapsed;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"Instance {instance} did not serve {version} within {timeout.TotalSeconds} s (serves {await ServedVersionAsync(instance)}).");
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T), CultureInfo.InvariantCulture);
    }

    public Task<List<object?[]>> RowsAsync(string sql) => Sql.RowsAsync(ConnectionString, sql);

    /// <summary>Everything a failed change must leave as it was: versions with status and shadow, and the event count.</summary>
    public async Task<string> RegistrySnapshotAsync()
    {
        var rows = await RowsAsync("""
            SELECT version, status, shadow_since IS NOT NULL, activated_at, retired_at FROM model_versions ORDER BY version
            """);
        var events = await ScalarAsync<long>("SELECT count(*) FROM model_events");
        return string.Join('\n', rows.Select(r => string.Join(',', r))) + $"\nevents={events}";
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in Apps)
        {
            await app.DisposeAsync();
        }
    }
}

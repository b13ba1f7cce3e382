using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Vigie.Stack;
using Vigie.Testing;
using Vigie.Web.Infrastructure.Database;

namespace Vigie.Tests.Reliability;

/// <summary>Start-up against a database that is not there yet, already migrated, or being migrated by another instance.</summary>
[NonParallelizable]
public sealed partial class StartupTests
{
    private static readonly int ScriptCount = Directory.GetFiles(Path.Combine(Infrastructure.RepositoryRoot, "db"), "*.sql").Length;

    [Test]
    public async Task An_app_started_before_the_database_retries_with_back_off_and_becomes_ready_once_it_answers()
    {
        var cluster = await IsolatedApp.NewClusterAsync();
        cluster.Stop();
        await using var app = IsolatedApp.Create(cluster, ownsCluster: true);
        using var client = app.NewClient();

        await Task.Delay(TimeSpan.FromSeconds(3));
        using var liveWithout = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
        using var readyWithout = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        using var predictWithout = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });

        cluster.Start();
        var started = Stopwatch.StartNew();
        await app.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
        var readyAfter = started.Elapsed;
        using var predicted = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
        var retries = MigrationRetries().Count(await LogAsync(app));

        Assert.Multiple(() =>
        {
            Assert.That(liveWithout.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the process is alive without its database");
            Assert.That(readyWithout.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(predictWithout.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(predictWithout.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            // Back-off from 0.25 s doubling: in 3 s without a database, a handful of attempts, not hundreds.
            Assert.That(retries, Is.InRange(3, 8), "logged migration retries");
            // The next attempt comes at most 10 s (the back-off ceiling) after the database does.
            Assert.That(readyAfter, Is.LessThan(TimeSpan.FromSeconds(12)));
            Assert.That(predicted.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        });
    }

    [Test]
    public async Task Migrations_run_twice_apply_each_script_once_and_keep_the_data()
    {
        var cluster = await IsolatedApp.NewClusterAsync();
        try
        {
            long id;
            await using (var first = IsolatedApp.Create(cluster))
            {
                await first.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
                using var client = first.NewClient();
                using var created = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
                id = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(IsolatedApp.Json)).GetProperty("id").GetInt64();
            }
            await using var second = IsolatedApp.Create(cluster);
            await second.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
            var log = await LogAsync(second);

            Assert.Multiple(async () =>
            {
                Assert.That(await JournalAsync(cluster), Is.EqualTo(Enumerable.Repeat(1L, ScriptCount)), "each script once in the DbUp journal");
                Assert.That(await cluster.ScalarAsync($"SELECT count(*) FROM predictions WHERE id = {id}"), Is.EqualTo(1));
                Assert.That(AppliedNow().Matches(log).Select(m => m.Groups[1].Value), Is.EqualTo(new[] { "0" }), "the second start applies nothing");
                Assert.That(MigrationRetries().IsMatch(log), Is.False);
            });
        }
        finally
        {
            cluster.Dispose();
        }
    }

    [Test]
    public async Task Two_instances_starting_at_once_migrate_one_after_the_other_and_both_become_ready()
    {
        var cluster = await IsolatedApp.NewClusterAsync();
        IsolatedApp? first = null;
        IsolatedApp? second = null;
        try
        {
            // Hold the migration lock so both instances reach it before either migrates: their runs must overlap.
            var holder = new NpgsqlConnection(cluster.AdminConnectionString);
            await holder.OpenAsync();
            await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({DatabaseMigrator.MigrationLockKey})", holder))
            {
                await take.ExecuteNonQueryAsync();
            }
            first = IsolatedApp.Create(cluster);
            second = IsolatedApp.Create(cluster);
            var waiting = 0L;
            for (var deadline = Stopwatch.StartNew(); deadline.Elapsed < TimeSpan.FromSeconds(60) && waiting < 2; await Task.Delay(100))
            {
                waiting = await cluster.ScalarAsync("""
                    SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                    WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = 'vigie-web'
                    """);
            }
            using var firstClient = first.NewClient();
            using var secondClient = second.NewClient();
            using var firstWhileLocked = await firstClient.GetAsync(new Uri("/health/ready", UriKind.Relative));
            using var secondWhileLocked = await secondClient.GetAsync(new Uri("/health/ready", UriKind.Relative));

            // Explicitly: a pooled connection's session (and its lock) would outlive Dispose.
            await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({DatabaseMigrator.MigrationLockKey})", holder))
            {
                await release.ExecuteNonQueryAsync();
            }
            await holder.DisposeAsync();
            await Task.WhenAll(first.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(60)), second.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(60)));
            // Both apps log through the process' one NLog configuration, into the directory of the app configured last.
            var log = await LogAsync(first) + await LogAsync(second);

            Assert.Multiple(async () =>
            {
                Assert.That(waiting, Is.EqualTo(2), "both instances waited on the migration lock");
                Assert.That(firstWhileLocked.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
                Assert.That(secondWhileLocked.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
                Assert.That(await JournalAsync(cluster), Is.EqualTo(Enumerable.Repeat(1L, ScriptCount)), "each script once in the DbUp journal");
                Assert.That(AppliedNow().Matches(log).Select(m => m.Groups[1].Value).Order(), Is.EqualTo(new[] { "0", ScriptCount.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
                    "one instance applied every script, the other found nothing left to do");
                Assert.That(MigrationRetries().IsMatch(log), Is.False, "neither failed and retried");
            });
        }
        finally
        {
            if (first is not null)
            {
                await first.DisposeAsync();
            }
            if (second is not null)
            {
                await second.DisposeAsync();
            }
            cluster.Dispose();
        }
    }

    [Test]
    public async Task A_restart_on_an_existing_database_loads_the_active_model_during_the_migrations_and_serves_it_only_once_they_have_run()
    {
        var cluster = await IsolatedApp.NewClusterAsync();
        NpgsqlConnection? migrationLock = null;
        try
        {
            await using (var first = IsolatedApp.Create(cluster))
            {
                await first.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
            }
            var active = await ActiveVersionAsync(cluster);
            // The migration lock held: the restarted instance cannot get past its migrations until the test lets it.
            migrationLock = new NpgsqlConnection(cluster.AdminConnectionString);
            await migrationLock.OpenAsync();
            await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({DatabaseMigrator.MigrationLockKey})", migrationLock))
            {
                await take.ExecuteNonQueryAsync();
            }
            await using var second = IsolatedApp.Create(cluster);
            using var client = second.NewClient();

            var preloaded = await WaitForLogAsync(second, PreloadedModel(), TimeSpan.FromSeconds(60));
            using var readyWhileMigrating = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
            using var predictWhileMigrating = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
            await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({DatabaseMigrator.MigrationLockKey})", migrationLock))
            {
                await release.ExecuteNonQueryAsync();
            }
            await second.Factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
            using var predicted = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
            var prediction = await predicted.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(IsolatedApp.Json);
            var log = await LogAsync(second);

            Assert.Multiple(async () =>
            {
                Assert.That(preloaded?.Groups[1].Value, Is.EqualTo(active), "the registry's active version was loaded while the migrations waited");
                Assert.That(readyWhileMigrating.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "not ready before the migrations have run");
                Assert.That(predictWhileMigrating.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "no prediction from a model the registry has not confirmed");
                Assert.That(predicted.StatusCode, Is.EqualTo(HttpStatusCode.Created));
                Assert.That(prediction.GetProperty("modelVersion").GetString(), Is.EqualTo(active));
                Assert.That(log, Does.Contain($"Serving model {active} from the registry"));
                Assert.That(log, Does.Not.Contain("Trained model"), "the base model is not trained again on a database whose registry has it");
                Assert.That(await cluster.ScalarAsync("SELECT count(*) FROM model_versions"), Is.EqualTo(1));
            });
        }
        finally
        {
            if (migrationLock is not null)
            {
                await migrationLock.DisposeAsync();
            }
            cluster.Dispose();
        }
    }

    [TestCase("Database:ProbeIntervalSeconds", "0")]
    [TestCase("Database:ConnectTimeoutSeconds", "-1")]
    [TestCase("Batch:MaxUploadBytes", "-5")]
    [TestCase("Models:ShadowQueueCapacity", "0")]
    [TestCase("Metrics:Port", "70000")]
    [TestCase("Links:Grafana", "not a url")]
    [TestCase("Retention:PredictionDays", "0")]
    [TestCase("Retention:BatchSize", "10")]
    public void A_setting_out_of_range_stops_start_up_with_a_message_naming_its_key(string key, string value)
    {
        // No database is needed: the settings are checked before anything connects.
        using var factory = new VigieAppFactory("Host=127.0.0.1;Port=1;Database=none;Username=none", new Dictionary<string, string> { [key] = value });

        var failure = Assert.Catch(() => _ = factory.Server);

        var messages = string.Join(" | ", Chain(failure));
        Assert.Multiple(() =>
        {
            Assert.That(Chain(failure).OfType<Microsoft.Extensions.Options.OptionsValidationException>(), Is.Not.Empty, messages);
            Assert.That(messages, Does.Contain(key), "the message names the configuration key");
        });

        static IEnumerable<Exception> Chain(Exception? exception)
        {
            for (; exception is not null; exception = exception.InnerException)
            {
                yield return exception;
                if (exception is AggregateException aggregate)
                {
                    foreach (var inner in aggregate.InnerExceptions.SelectMany(Chain))
                    {
                        yield return inner;
                    }
                }
            }
        }
    }

    /// <summary>How many times each script is in DbUp's journal, by script name.</summary>
    private static async Task<List<long>> JournalAsync(PostgresCluster cluster)
    {
        await using var connection = new NpgsqlConnection(cluster.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM schemaversions GROUP BY scriptname ORDER BY scriptname", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var counts = new List<long>();
        while (await reader.ReadAsync())
        {
            counts.Add(reader.GetInt64(0));
        }
        return counts;
    }

    private static async Task<string> LogAsync(IsolatedApp app)
    {
        NLog.LogManager.Flush(TimeSpan.FromSeconds(5));
        var path = Path.Combine(app.Factory.LogDirectory, "web.log");
        if (!File.Exists(path))
        {
            return string.Empty;
        }
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    private static async Task<string> ActiveVersionAsync(PostgresCluster cluster)
    {
        await using var connection = new NpgsqlConnection(cluster.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT version FROM model_versions WHERE status = 'active'", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The first match of <paramref name="line"/> in the app's log, waiting up to <paramref name="timeout"/> for it; null if it never came.</summary>
    private static async Task<Match?> WaitForLogAsync(IsolatedApp app, Regex line, TimeSpan timeout)
    {
        for (var waited = Stopwatch.StartNew(); waited.Elapsed < timeout; await Task.Delay(100))
        {
            if (line.Match(await LogAsync(app)) is { Success: true } match)
            {
                return match;
            }
        }
        return null;
    }

    [GeneratedRegex("Loaded model ([0-9a-z-]+) alongside the migrations")]
    private static partial Regex PreloadedModel();

    [GeneratedRegex("Migration attempt [0-9]+ failed")]
    private static partial Regex MigrationRetries();

    [GeneratedRegex(@"Database schema up to date \(([0-9]+) scripts applied now\)")]
    private static partial Regex AppliedNow();
}

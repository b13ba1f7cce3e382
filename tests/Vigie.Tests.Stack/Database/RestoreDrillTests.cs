using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;
using Vigie.Stack;
using Vigie.Testing;
using Vigie.Tests.Stack.Live;

namespace Vigie.Tests.Stack.Database;

/// <summary>
/// The restore drill: a database filled through the app's API, backed up while the app runs, destroyed, and restored
/// into a fresh cluster, where every table and sequence must be as it was and the app must serve the same history,
/// alerts and active model. Its timing is the restore throughput the README quotes.
/// </summary>
[NonParallelizable]
public sealed class RestoreDrillTests
{
    private const string AlertmanagerToken = "drill-alertmanager-token";

    /// <summary>Rows of the large batch upload, so the restore moves a measurable amount of data.</summary>
    private const int BatchRows = 50_000;

    [Test]
    public async Task A_backup_restored_into_a_fresh_cluster_has_every_row_and_the_app_serves_the_same_history_and_model()
    {
        Infrastructure.Require(PostgresCluster.IsInstalled, "PostgreSQL server binaries are not installed (package 'postgresql')");
        var backups = Directory.CreateTempSubdirectory("vigie-drill-backups-").FullName;
        try
        {
            // Filled through the app: the form and API, batches, feedback, a retrained candidate shadowed, promoted and
            // rolled back (model versions and events), alerts in the inbox.
            Snapshot before;
            Served servedBefore;
            BackupFile backup;
            using (var original = await PostgresCluster.CreateAsync())
            {
                using (var app = await StartAppAsync(original))
                {
                    using (var traffic = new TrafficDriver(app.Url))
                    {
                        await traffic.DriveAsync();
                    }
                    await UploadBatchAsync(app.Url);
                    await PostAlertsAsync(app.Url);
                    // Taken while the app runs, as the schedule does.
                    backup = await Backups.TakeAsync(original, backups, keep: 3, schedule: TimeSpan.FromHours(1));
                    servedBefore = await ServedAsync(app.Url);
                }
                before = await SnapshotAsync(original);
            }
            // The original cluster is gone (stopped, its directory deleted): only the backup is left.

            using var fresh = await PostgresCluster.CreateAsync();
            var clock = Stopwatch.StartNew();
            var took = await Backups.RestoreAsync(fresh, backup.Path);
            clock.Stop();
            var after = await SnapshotAsync(fresh);
            Served servedAfter;
            using (var app = await StartAppAsync(fresh))
            {
                servedAfter = await ServedAsync(app.Url);
            }

            var rows = after.Tables.Sum(t => t.Value.Rows);
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Restore drill: {rows:N0} rows in {after.Tables.Count} tables ({after.Tables["predictions"].Rows:N0} predictions), backup {backup.Bytes / 1048576.0:F1} MiB taken in {backup.Took.TotalSeconds:F2} s; restored in {took.TotalSeconds:F2} s = {rows / took.TotalSeconds:N0} rows/s, {backup.Bytes / 1048576.0 / took.TotalSeconds:F1} MiB/s of dump"));
            foreach (var (table, content) in after.Tables.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                TestContext.Out.WriteLine($"  {table,-24} {content.Rows,9:N0} rows  md5 {content.Checksum}");
            }

            Assert.Multiple(() =>
            {
                Assert.That(before.Tables["predictions"].Rows, Is.GreaterThan(BatchRows), "the drill filled the database");
                Assert.That(before.Tables.Where(t => t.Value.Rows == 0).Select(t => t.Key), Is.Empty, "every table has rows to compare");
                Assert.That(after.Tables.Keys, Is.EquivalentTo(before.Tables.Keys), "the same tables");
                foreach (var (table, content) in before.Tables)
                {
                    Assert.That(after.Tables[table], Is.EqualTo(content), $"{table}: row count and checksum of its contents");
                }
                Assert.That(after.Sequences, Is.EqualTo(before.Sequences), "identity sequences continue where they were");
                Assert.That(servedAfter.History, Is.EqualTo(servedBefore.History), "the restored app serves the same history");
                Assert.That(servedAfter.ActiveModel, Is.EqualTo(servedBefore.ActiveModel), "and the same active model");
                Assert.That(servedAfter.Alerts, Is.EqualTo(servedBefore.Alerts), "and the same alerts");
            });
        }
        finally
        {
            Directory.Delete(backups, recursive: true);
        }
    }

    private static Task<AppProcess> StartAppAsync(PostgresCluster cluster) =>
        AppProcess.StartAsync(Infrastructure.RepositoryRoot, Infrastructure.BuildConfiguration, cluster.AppConnectionString, new Dictionary<string, string>
        {
            ["admin_token"] = TrafficDriver.AdminToken,
            ["alertmanager_token"] = AlertmanagerToken,
            ["RateLimits__Writes"] = "0",
        });

    private static async Task UploadBatchAsync(Uri app)
    {
        var csv = new StringBuilder("site,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n");
        var random = new Random(18);
        for (var i = 0; i < BatchRows; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"drill-{i},{random.Next(340, 560) / 10.0},{random.Next(140, 210) / 10.0},{random.Next(175, 230)},{random.Next(2900, 6200)}\n");
        }
        using var http = new HttpClient { BaseAddress = app, Timeout = TimeSpan.FromMinutes(2) };
        using var upload = new MultipartFormDataContent { { new StringContent(csv.ToString()), "file", "drill.csv" } };
        // With an Idempotency-Key, as a careful client sends it: the kept answer is part of what a restore must bring back.
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/predictions/batch", UriKind.Relative)) { Content = upload };
        request.Headers.Add("Idempotency-Key", "restore-drill-batch");
        using var response = await http.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
    }

    private static async Task PostAlertsAsync(Uri app)
    {
        using var http = new HttpClient { BaseAddress = app };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AlertmanagerToken);
        foreach (var (fingerprint, status) in new[] { ("a1", "firing"), ("b2", "firing"), ("a1", "resolved") })
        {
            var payload = new
            {
                version = "4",
                groupKey = "{}:{alertname=\"PostgresDeadlocks\"}",
                truncatedAlerts = 0,
                status,
                receiver = "vigie-inbox",
                groupLabels = new { alertname = "PostgresDeadlocks" },
                commonLabels = new { alertname = "PostgresDeadlocks", severity = "warning" },
                commonAnnotations = new { },
                externalURL = "http://alertmanager:9093",
                alerts = new[]
                {
                    new
                    {
                        status,
                        labels = new Dictionary<string, string> { ["alertname"] = "PostgresDeadlocks", ["severity"] = "warning", ["datname"] = fingerprint },
                        annotations = new Dictionary<string, string> { ["summary"] = $"Deadlocks in database {fingerprint}" },
                        startsAt = "2026-12-01T01:00:00Z",
                        endsAt = status == "resolved" ? "2026-12-01T01:05:00Z" : "0001-01-01T00:00:00Z",
                        generatorURL = "http://prometheus:9090/graph",
                        fingerprint,
                    },
                },
            };
            using var response = await http.PostAsJsonAsync("/api/alerts", payload);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        }
    }

    /// <summary>What the app answers about the data: the newest 200 predictions, the active model, the alert inbox.</summary>
    private sealed record Served(string History, string ActiveModel, string Alerts);

    private static async Task<Served> ServedAsync(Uri app)
    {
        using var http = new HttpClient { BaseAddress = app };
        var model = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/model", UriKind.Relative))).RootElement;
        return new Served(
            await http.GetStringAsync(new Uri("/api/predictions?limit=200", UriKind.Relative)),
            model.GetProperty("version").GetString()!,
            await http.GetStringAsync(new Uri("/api/alerts", UriKind.Relative)));
    }

    /// <summary>Every table's row count and an MD5 of its rows (as text, sorted), and every sequence's position.</summary>
    private sealed record Snapshot(Dictionary<string, TableContent> Tables, Dictionary<string, long> Sequences);

    private sealed record TableContent(long Rows, string Checksum);

    private static async Task<Snapshot> SnapshotAsync(PostgresCluster cluster)
    {
        await using var connection = new NpgsqlConnection(cluster.AdminConnectionString);
        await connection.OpenAsync();
        var tables = new Dictionary<string, TableContent>(StringComparer.Ordinal);
        foreach (var table in await ListAsync(connection, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        {
            // Names from the catalog, quoted as identifiers.
            await using var command = new NpgsqlCommand($"SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM public.\"{table}\" t", connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            tables[table] = new TableContent(reader.GetInt64(0), reader.GetString(1));
        }
        var sequences = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand("SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'public'", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                sequences[reader.GetString(0)] = reader.GetInt64(1);
            }
        }
        return new Snapshot(tables, sequences);
    }

    private static async Task<List<string>> ListAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }
}

using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Vigie.Testing;

namespace Vigie.Tests.Reliability;

/// <summary>
/// A PostgreSQL that requires a password (scram-sha-256), as every real deployment and the postgres image do, with the
/// password handed over as Compose does: a connection string without it, and the <c>db_password</c> file of the secrets
/// directory. Before the fix the migrator gave DbUp a connection string Npgsql had stripped of the password, and the app
/// never became ready.
/// </summary>
[NonParallelizable]
public sealed class DatabasePasswordTests
{
    [Test]
    public async Task The_test_clusters_refuse_a_connection_without_the_password()
    {
        await using var app = await IsolatedApp.StartAsync();
        var withoutPassword = new NpgsqlConnectionStringBuilder(app.Cluster.AppConnectionString) { Password = null, Pooling = false };
        var wrongPassword = new NpgsqlConnectionStringBuilder(app.Cluster.AppConnectionString) { Password = "not-the-password", Pooling = false };

        var missing = Assert.ThrowsAsync<NpgsqlException>(async () => await OpenAsync(withoutPassword.ConnectionString));
        var wrong = Assert.ThrowsAsync<PostgresException>(async () => await OpenAsync(wrongPassword.ConnectionString));

        Assert.Multiple(() =>
        {
            Assert.That(missing!.Message, Does.Contain("password").IgnoreCase, "no password: refused before any query");
            Assert.That(wrong!.SqlState, Is.EqualTo(PostgresErrorCodes.InvalidPassword));
        });
    }

    [Test]
    public async Task An_app_given_its_password_through_the_secrets_directory_migrates_and_serves()
    {
        await using var app = await IsolatedApp.StartAsync();
        using var client = app.NewClient();

        using var created = await client.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39.1, billDepthMm = 18.7, flipperLengthMm = 181, bodyMassG = 3750 });
        var secret = await File.ReadAllTextAsync(Path.Combine(app.Factory.SecretsDirectory, "db_password"));
        var journal = await app.Cluster.ScalarAsync("SELECT count(*) FROM schemaversions");

        Assert.Multiple(async () =>
        {
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(secret.Trim(), Is.EqualTo(app.Cluster.AppPassword), "the password reached the app as a secret file");
            Assert.That(journal, Is.EqualTo(Directory.GetFiles(Path.Combine(Infrastructure.RepositoryRoot, "db"), "*.sql").Length), "every migration applied with the password");
            Assert.That(await app.CountAsync(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task An_app_with_a_wrong_password_stays_alive_and_not_ready_and_says_why()
    {
        using var cluster = await IsolatedApp.NewClusterAsync();
        var wrongPassword = new NpgsqlConnectionStringBuilder(cluster.AppConnectionString) { Password = "not-the-password" };
        await using var wrong = new VigieAppFactory(wrongPassword.ConnectionString, IsolatedApp.FastTimeouts);
        using var client = wrong.CreateClient();

        await Task.Delay(TimeSpan.FromSeconds(3));
        using var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
        using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        var log = await File.ReadAllTextAsync(Path.Combine(wrong.LogDirectory, "web.log"));

        Assert.Multiple(() =>
        {
            Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a wrong password does not stop the host");
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(log, Does.Contain("password authentication failed"), "the migration retries say why");
        });
    }

    private static async Task OpenAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
    }
}

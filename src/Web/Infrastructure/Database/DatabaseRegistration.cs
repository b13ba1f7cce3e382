using Npgsql;
using Vigie.Web.Infrastructure.Configuration;

namespace Vigie.Web.Infrastructure.Database;

/// <summary>Wires PostgreSQL into the app.</summary>
public static class DatabaseRegistration
{
    /// <summary>Configuration key of the password file read through the KeyPerFile provider (<c>/run/secrets/db_password</c>).</summary>
    public const string PasswordKey = "db_password";

    /// <summary>
    /// Registers the Npgsql data source from <c>ConnectionStrings:Vigie</c>. The password is never part of that string
    /// in compose: it comes from the <c>db_password</c> secret file and is added here.
    /// </summary>
    public static IServiceCollection AddVigieDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<DatabaseOptions>(configuration, "Database");
        var connectionString = configuration.GetConnectionString("Vigie")
            ?? throw new InvalidOperationException("ConnectionStrings:Vigie is not configured.");
        var password = configuration[PasswordKey];
        services.AddSingleton(provider => NpgsqlDataSource.Create(ConnectionString(connectionString, password, provider.GetRequiredService<DatabaseOptions>())));
        services.AddSingleton<VigieDatabase>();
        services.AddSingleton<DatabaseStatus>();
        services.AddHostedService<DatabaseMigrator>();
        services.AddHostedService<DatabaseProbe>();
        return services;
    }

    private static string ConnectionString(string configured, string? password, DatabaseOptions options)
    {
        var builder = new NpgsqlConnectionStringBuilder(configured)
        {
            Timeout = options.ConnectTimeoutSeconds,
            CommandTimeout = options.CommandTimeoutSeconds,
            ApplicationName = "vigie-web",
            // The app's statements are few and fixed: prepared once per connection after their second use, PostgreSQL
            // no longer parses and plans them on every request (about a third of its CPU per prediction insert).
            MaxAutoPrepare = 20,
            AutoPrepareMinUsages = 2,
            // The app never changes session state (no SET, no temporary tables; the migrator releases its advisory
            // lock itself), so the reset statements Npgsql would send whenever a connection returns to the pool are
            // pure cost. An open transaction is still rolled back when a connection is returned.
            NoResetOnClose = true,
        };
        if (!string.IsNullOrWhiteSpace(password))
        {
            builder.Password = password.Trim();
        }
        return builder.ConnectionString;
    }
}

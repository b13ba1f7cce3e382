using System.Text.Json;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using Vigie.Web.Infrastructure.Database;

namespace Vigie.Web.Features.Alerts;

/// <summary>SQL of <c>alert_notifications</c> and the <c>firing_alerts</c> view.</summary>
public sealed class AlertStore(VigieDatabase database)
{
    private const string Columns = "fingerprint, status, alertname, severity, summary, description, runbook_url, starts_at, ends_at, labels::text AS labels, annotations::text AS annotations, receiver, received_at";

    /// <summary>Stores notifications; a resent one (same fingerprint, start and status) is ignored. Returns how many were new.</summary>
    public Task<int> InsertAsync(IReadOnlyList<AlertNotification> notifications, CancellationToken cancellationToken) =>
        database.RunAsync("insert_alerts", async connection =>
        {
            await using var batch = new NpgsqlBatch(connection);
            foreach (var n in notifications)
            {
                var command = new NpgsqlBatchCommand("""
                    INSERT INTO alert_notifications (fingerprint, status, alertname, severity, summary, description, runbook_url,
                                                     starts_at, ends_at, labels, annotations, receiver, received_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                    ON CONFLICT (fingerprint, starts_at, status) DO NOTHING
                    """);
                command.Parameters.Add(new NpgsqlParameter { Value = n.Fingerprint });
                command.Parameters.Add(new NpgsqlParameter { Value = n.Status });
                command.Parameters.Add(new NpgsqlParameter { Value = n.AlertName });
                command.Parameters.Add(new NpgsqlParameter { Value = n.Severity });
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)n.Summary ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)n.Description ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)n.RunbookUrl ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = n.StartsAt.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)n.EndsAt?.UtcDateTime ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(n.Labels), NpgsqlDbType = NpgsqlDbType.Jsonb });
                command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(n.Annotations), NpgsqlDbType = NpgsqlDbType.Jsonb });
                command.Parameters.Add(new NpgsqlParameter { Value = n.Receiver });
                command.Parameters.Add(new NpgsqlParameter { Value = n.ReceivedAt.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                batch.BatchCommands.Add(command);
            }
            await batch.ExecuteNonQueryAsync(cancellationToken);
            return batch.BatchCommands.Cast<NpgsqlBatchCommand>().Sum(c => c.RecordsAffected);
        }, cancellationToken);

    /// <summary>Alerts whose latest notification is firing.</summary>
    public Task<IReadOnlyList<AlertNotification>> FiringAsync(CancellationToken cancellationToken) =>
        database.RunAsync("list_alerts", async connection =>
            (IReadOnlyList<AlertNotification>)(await connection.QueryAsync<AlertRow>(new CommandDefinition(
                $"SELECT {Columns} FROM firing_alerts ORDER BY starts_at DESC LIMIT 500", cancellationToken: cancellationToken)))
            .Select(ToNotification).ToList(), cancellationToken);

    /// <summary>Resolved notifications, newest first, keyset-paged on id; returns the rows and the next cursor.</summary>
    public Task<(IReadOnlyList<AlertNotification> Items, long? NextCursor)> ResolvedAsync(long? before, int limit, CancellationToken cancellationToken) =>
        database.RunAsync("list_alerts", async connection =>
        {
            var rows = (await connection.QueryAsync<AlertRow>(new CommandDefinition($"""
                SELECT id, {Columns} FROM alert_notifications
                WHERE status = 'resolved' AND (@before::bigint IS NULL OR id < @before)
                ORDER BY id DESC LIMIT @take
                """, new { before, take = limit + 1 }, cancellationToken: cancellationToken))).ToList();
            var next = rows.Count > limit ? rows[limit - 1].id : (long?)null;
            return ((IReadOnlyList<AlertNotification>)rows.Take(limit).Select(ToNotification).ToList(), next);
        }, cancellationToken);

    private static AlertNotification ToNotification(AlertRow r) => new(
        r.fingerprint, r.status, r.alertname, r.severity, r.summary, r.description, r.runbook_url,
        Utc(r.starts_at), r.ends_at is { } ends ? Utc(ends) : null,
        JsonSerializer.Deserialize<Dictionary<string, string>>(r.labels) ?? [],
        JsonSerializer.Deserialize<Dictionary<string, string>>(r.annotations) ?? [],
        r.receiver, Utc(r.received_at));

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

#pragma warning disable IDE1006, CA1707 // mirrors the column names so Dapper maps them without configuration
    private sealed class AlertRow
    {
        public long id { get; set; }
        public string fingerprint { get; set; } = "";
        public string status { get; set; } = "";
        public string alertname { get; set; } = "";
        public string severity { get; set; } = "";
        public string? summary { get; set; }
        public string? description { get; set; }
        public string? runbook_url { get; set; }
        public DateTime starts_at { get; set; }
        public DateTime? ends_at { get; set; }
        public string labels { get; set; } = "{}";
        public string annotations { get; set; } = "{}";
        public string receiver { get; set; } = "";
        public DateTime received_at { get; set; }
    }
#pragma warning restore IDE1006, CA1707
}

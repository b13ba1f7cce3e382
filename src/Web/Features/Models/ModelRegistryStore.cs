using Dapper;
using Npgsql;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Models;

/// <summary>The versions the app should serve: the active one and the candidate in shadow, without their bytes.</summary>
public sealed record RegistryHead(RegisteredModel? Active, RegisteredModel? Shadow);

/// <summary>A version's facts needed to load and serve it; <paramref name="DataRows"/> counts its training and held-out rows.</summary>
/// <paramref name="TrainingProfile"/> is the JSON of its <see cref="Classifier.TrainingProfile"/>; null for versions registered before it was kept.
public sealed record RegisteredModel(string Version, string Trainer, string Settings, int DataRows, double HeldOutAccuracy, string ContentSha256, string? TrainingProfile);

/// <summary>Result of a change to the registry.</summary>
public abstract record RegistryChange
{
    /// <summary>Done: <paramref name="Version"/> is now in the state asked for; <paramref name="Replaced"/> is the version it took over from.</summary>
    public sealed record Changed(string Version, string? Replaced) : RegistryChange;

    public sealed record NotFound(string Version) : RegistryChange;

    /// <summary>The change does not apply to the registry's current state; nothing changed.</summary>
    public sealed record Conflict(string Title, string Detail) : RegistryChange;
}

/// <summary>
/// SQL of the model registry (<c>model_versions</c>, <c>model_events</c>). Every change runs in one transaction under
/// an advisory lock, so concurrent promotions from any instance apply one after the other against the latest state,
/// and ends with <c>NOTIFY vigie_model_registry</c>, delivered to every instance when it commits.
/// </summary>
public sealed class ModelRegistryStore(VigieDatabase database)
{
    /// <summary>The channel every instance LISTENs on.</summary>
    public const string Channel = "vigie_model_registry";

    // Arbitrary but fixed: identifies "Vigie model registry change" among advisory locks (the migration lock is 0x5649474945).
    private const long RegistryLockKey = 0x56494749454D;

    private const string ActivationActions = "('registered', 'activated', 'promoted', 'rolled_back')";

    private const string ViewColumns = """
        v.version, v.status, v.shadow_since, v.trainer, v.settings, v.content_sha256, v.base_data_sha256, v.base_training_rows,
        v.feedback_up_to_prediction_id, v.feedback_training_rows, v.feedback_held_out_rows, v.training_rows, v.parent_version,
        v.held_out_rows, v.held_out_accuracy, v.held_out_macro_f1, v.held_out_recall::text AS held_out_recall,
        v.held_out_confusion::text AS held_out_confusion, v.comparison::text AS comparison, v.created_at, v.activated_at, v.retired_at,
        l.with_feedback AS live_with_feedback, l.correct AS live_correct,
        s.scored AS shadow_scored, s.agreement AS shadow_agreement, s.with_feedback AS shadow_with_feedback,
        s.shadow_accuracy, s.served_accuracy
        """;

    private const string ViewFrom = """
        FROM model_versions v
        LEFT JOIN model_live_accuracy l ON l.version = v.version
        LEFT JOIN shadow_evaluation s ON s.version = v.version
        """;

    private const string HeadColumns =
        "version, status, shadow_since IS NOT NULL AS in_shadow, trainer, settings, training_rows + held_out_rows AS data_rows, held_out_accuracy, content_sha256, training_profile::text AS training_profile";

    private static RegisteredModel Model(HeadRow r) => new(r.version, r.trainer, r.settings, r.data_rows, r.held_out_accuracy, r.content_sha256, r.training_profile);

    /// <summary>True when the registry's table exists: the database has been migrated at least that far.</summary>
    public Task<bool> ExistsAsync(CancellationToken cancellationToken) =>
        database.RunAsync("read_models", connection => connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT to_regclass('model_versions') IS NOT NULL", cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>The active version and the one in shadow.</summary>
    public Task<RegistryHead> HeadAsync(CancellationToken cancellationToken) =>
        database.RunAsync("read_models", async connection =>
        {
            var rows = (await connection.QueryAsync<HeadRow>(new CommandDefinition(
                $"SELECT {HeadColumns} FROM model_versions WHERE status = 'active' OR shadow_since IS NOT NULL",
                cancellationToken: cancellationToken))).ToList();
            return new RegistryHead(
                rows.Where(r => r.status == ModelStatus.Active).Select(Model).SingleOrDefault(),
                rows.Where(r => r.in_shadow).Select(Model).SingleOrDefault());
        }, cancellationToken);

    /// <summary>What an instance needs to load <paramref name="version"/>, or null when there is no such version.</summary>
    public Task<RegisteredModel?> RegisteredAsync(string version, CancellationToken cancellationToken) =>
        database.RunAsync("read_models", async connection =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<HeadRow>(new CommandDefinition(
                $"SELECT {HeadColumns} FROM model_versions WHERE version = @version", new { version }, cancellationToken: cancellationToken));
            return row is null ? null : Model(row);
        }, cancellationToken);

    /// <summary>The serialized model of <paramref name="version"/>, or null when there is no such version.</summary>
    public Task<byte[]?> ModelBytesAsync(string version, CancellationToken cancellationToken) =>
        database.RunAsync("load_model", connection => connection.QuerySingleOrDefaultAsync<byte[]?>(new CommandDefinition(
            "SELECT model FROM model_versions WHERE version = @version", new { version }, cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>True when the registry lacks an active version or the base version: the base model must be trained (or loaded) and offered.</summary>
    public Task<bool> NeedsBaseAsync(string baseVersion, CancellationToken cancellationToken) =>
        database.RunAsync("read_models", connection => connection.ExecuteScalarAsync<bool>(new CommandDefinition("""
            SELECT NOT EXISTS (SELECT 1 FROM model_versions WHERE status = 'active')
                OR NOT EXISTS (SELECT 1 FROM model_versions WHERE version = @baseVersion)
            """, new { baseVersion }, cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>
    /// Registers the base model: as the active version when the registry has none (first start), as a candidate when
    /// the registry already serves another version and lacks this one (the base data or settings changed). Returns the
    /// status it was registered with, or null when it was there already. Runs under the registry lock, so instances
    /// starting together register it once.
    /// </summary>
    public Task<string?> RegisterBaseAsync(TrainedCandidate model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        return database.RunAsync("change_models", async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await LockAsync(connection, transaction, cancellationToken);
            var active = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "SELECT version FROM model_versions WHERE status = 'active'", transaction: transaction, cancellationToken: cancellationToken));
            var status = active is null ? ModelStatus.Active : ModelStatus.Candidate;
            var inserted = await InsertAsync(connection, transaction, model, status, null, cancellationToken);
            if (!inserted)
            {
                await transaction.RollbackAsync(cancellationToken);
                return null;
            }
            await EventAsync(connection, transaction, model.Model.Version, "registered", null, null, cancellationToken);
            await NotifyAsync(connection, transaction, "registered", model.Model.Version, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return status;
        }, cancellationToken);
    }

    /// <summary>Registers a retrained candidate with its comparison; false when the registry already holds that version.</summary>
    public Task<bool> RegisterCandidateAsync(TrainedCandidate candidate, ModelComparison? comparison, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        return database.RunAsync("change_models", async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            if (!await InsertAsync(connection, transaction, candidate, ModelStatus.Candidate, comparison, cancellationToken))
            {
                await transaction.RollbackAsync(cancellationToken);
                return false;
            }
            await EventAsync(connection, transaction, candidate.Model.Version, "registered", null, null, cancellationToken);
            await NotifyAsync(connection, transaction, "registered", candidate.Model.Version, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>Makes the candidate <paramref name="version"/> the active version; the active one is retired.</summary>
    public Task<RegistryChange> PromoteAsync(string version, CancellationToken cancellationToken) =>
        ChangeAsync(async (connection, transaction) =>
        {
            var status = await StatusAsync(connection, transaction, version, cancellationToken);
            switch (status)
            {
                case null:
                    return new RegistryChange.NotFound(version);
                case ModelStatus.Active:
                    return new RegistryChange.Conflict("Already active", $"Model {version} is already the active version.");
                case ModelStatus.Retired:
                    return new RegistryChange.Conflict("Retired version",
                        $"Model {version} is retired; a retired version comes back only through POST /api/models/rollback.");
            }
            var current = await ActiveAsync(connection, transaction, cancellationToken);
            await ActivateAsync(connection, transaction, version, current, cancellationToken);
            await EventAsync(connection, transaction, version, "promoted", current, current, cancellationToken);
            await NotifyAsync(connection, transaction, "promoted", version, cancellationToken);
            return new RegistryChange.Changed(version, current);
        }, cancellationToken);

    /// <summary>Returns to the version that was active before the current one (walking back the activation history).</summary>
    public Task<RegistryChange> RollbackAsync(CancellationToken cancellationToken) =>
        ChangeAsync(async (connection, transaction) =>
        {
            var current = await ActiveAsync(connection, transaction, cancellationToken);
            if (current is null)
            {
                return new RegistryChange.Conflict("No active version", "The registry has no active version yet.");
            }
            var target = await RollbackTargetAsync(connection, transaction, current, cancellationToken);
            if (target is null)
            {
                return new RegistryChange.Conflict("Nothing to roll back to", $"Model {current} is the first version that was active; there is no earlier one.");
            }
            var targetRollback = await RollbackTargetAsync(connection, transaction, target, cancellationToken);
            await ActivateAsync(connection, transaction, target, current, cancellationToken);
            await EventAsync(connection, transaction, target, "rolled_back", current, targetRollback, cancellationToken);
            await NotifyAsync(connection, transaction, "rolled_back", target, cancellationToken);
            return new RegistryChange.Changed(target, current);
        }, cancellationToken);

    /// <summary>The version a rollback would return to now (null when the active version is the first one, or none is active).</summary>
    public Task<string?> RollbackTargetAsync(CancellationToken cancellationToken) =>
        database.RunAsync("read_models", connection => connection.ExecuteScalarAsync<string?>(new CommandDefinition($"""
            SELECT e.rollback_to FROM model_versions v
            JOIN LATERAL (
                SELECT rollback_to FROM model_events
                WHERE version = v.version AND action IN {ActivationActions}
                ORDER BY id DESC LIMIT 1) e ON true
            WHERE v.status = 'active'
            """, cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>Puts the candidate <paramref name="version"/> in shadow (replacing any other shadow) from the next prediction on.</summary>
    public Task<RegistryChange> StartShadowAsync(string version, CancellationToken cancellationToken) =>
        ChangeAsync(async (connection, transaction) =>
        {
            var status = await StatusAsync(connection, transaction, version, cancellationToken);
            if (status is null)
            {
                return new RegistryChange.NotFound(version);
            }
            if (status != ModelStatus.Candidate)
            {
                return new RegistryChange.Conflict("Not a candidate", $"Model {version} is {status}; only a candidate can run in shadow.");
            }
            var previous = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "SELECT version FROM model_versions WHERE shadow_since IS NOT NULL", transaction: transaction, cancellationToken: cancellationToken));
            if (previous == version)
            {
                return new RegistryChange.Changed(version, null);
            }
            if (previous is not null)
            {
                await StopShadowRowAsync(connection, transaction, previous, cancellationToken);
            }
            await connection.ExecuteAsync(new CommandDefinition($"""
                UPDATE model_versions
                SET shadow_since = now(), shadow_from_prediction_id = {PredictionStore.NewestIdSql}
                WHERE version = @version
                """, new { version }, transaction, cancellationToken: cancellationToken));
            await EventAsync(connection, transaction, version, "shadow_started", previous, null, cancellationToken);
            await NotifyAsync(connection, transaction, "shadow_started", version, cancellationToken);
            return new RegistryChange.Changed(version, previous);
        }, cancellationToken);

    /// <summary>Ends the shadow of <paramref name="version"/>; what it recorded stays.</summary>
    public Task<RegistryChange> StopShadowAsync(string version, CancellationToken cancellationToken) =>
        ChangeAsync(async (connection, transaction) =>
        {
            var inShadow = await connection.QuerySingleOrDefaultAsync<bool?>(new CommandDefinition(
                "SELECT shadow_since IS NOT NULL FROM model_versions WHERE version = @version", new { version }, transaction, cancellationToken: cancellationToken));
            if (inShadow is null)
            {
                return new RegistryChange.NotFound(version);
            }
            if (inShadow == false)
            {
                return new RegistryChange.Conflict("Not in shadow", $"Model {version} is not in shadow.");
            }
            await StopShadowRowAsync(connection, transaction, version, cancellationToken);
            await NotifyAsync(connection, transaction, "shadow_stopped", version, cancellationToken);
            return new RegistryChange.Changed(version, null);
        }, cancellationToken);

    /// <summary>Every version, newest first, with its live accuracy and shadow results.</summary>
    public Task<ModelRegistryView> ListAsync(CancellationToken cancellationToken) =>
        database.RunAsync("read_models", async connection =>
        {
            var rows = await connection.QueryAsync<VersionRow>(new CommandDefinition(
                $"SELECT {ViewColumns} {ViewFrom} ORDER BY v.created_at DESC, v.version", cancellationToken: cancellationToken));
            var versions = await WithCalibrationAsync(connection, rows.Select(ToView).ToList(), cancellationToken);
            return new ModelRegistryView(
                versions.FirstOrDefault(v => v.Status == ModelStatus.Active)?.Version,
                versions.FirstOrDefault(v => v.InShadow)?.Version,
                versions);
        }, cancellationToken);

    public Task<ModelVersionView?> FindAsync(string version, CancellationToken cancellationToken) =>
        database.RunAsync("read_models", async connection =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<VersionRow>(new CommandDefinition(
                $"SELECT {ViewColumns} {ViewFrom} WHERE v.version = @version", new { version }, cancellationToken: cancellationToken));
            return row is null ? null : (await WithCalibrationAsync(connection, [ToView(row)], cancellationToken)).Single();
        }, cancellationToken);

    /// <summary>
    /// The versions the metrics publish: the active one, the one in shadow and the <paramref name="newest"/> newest of
    /// any status (a version rolled back an hour ago still shows how it did), so the number of series stays bounded
    /// however many versions the registry holds.
    /// </summary>
    public Task<IReadOnlyList<ModelVersionView>> PublishedAsync(int newest, CancellationToken cancellationToken) =>
        database.RunAsync("model_stats", async connection =>
        {
            var rows = await connection.QueryAsync<VersionRow>(new CommandDefinition($"""
                SELECT {ViewColumns} {ViewFrom}
                WHERE v.version IN (
                    SELECT version FROM model_versions WHERE status = 'active' OR shadow_since IS NOT NULL
                    UNION
                    (SELECT version FROM model_versions ORDER BY created_at DESC LIMIT @newest))
                """, new { newest }, cancellationToken: cancellationToken));
            return (IReadOnlyList<ModelVersionView>)await WithCalibrationAsync(connection, rows.Select(ToView).ToList(), cancellationToken);
        }, cancellationToken);

    // Each version's reliability table from feedback, read from the model_calibration view in one query.
    private static async Task<List<ModelVersionView>> WithCalibrationAsync(NpgsqlConnection connection, List<ModelVersionView> versions, CancellationToken cancellationToken)
    {
        var names = versions.Select(v => v.Version).ToArray();
        var buckets = (await connection.QueryAsync<CalibrationRow>(new CommandDefinition(
            "SELECT version, bucket, predictions, mean_confidence, accuracy FROM model_calibration WHERE version = ANY(@names)",
            new { names }, cancellationToken: cancellationToken))).ToLookup(b => b.version);
        return versions.ConvertAll(v => v with
        {
            Calibration = Calibration.FromBuckets(buckets[v.Version].Select(b => (b.bucket, b.predictions, b.mean_confidence, b.accuracy))),
        });
    }

    // Changes made through the app queue on the advisory lock; a writer that bypasses it can still deadlock with one,
    // and PostgreSQL then aborts a transaction: the change is run again (it re-reads the state it depends on).
    private Task<RegistryChange> ChangeAsync(Func<NpgsqlConnection, NpgsqlTransaction, Task<RegistryChange>> change, CancellationToken cancellationToken) =>
        database.RunAsync("change_models", async connection =>
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                    await LockAsync(connection, transaction, cancellationToken);
                    var result = await change(connection, transaction);
                    if (result is RegistryChange.Changed)
                    {
                        await transaction.CommitAsync(cancellationToken);
                    }
                    else
                    {
                        await transaction.RollbackAsync(cancellationToken);
                    }
                    return result;
                }
                catch (PostgresException ex) when (attempt < 3 && ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
                {
                }
            }
        }, cancellationToken);

    private static Task<int> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@key)", new { key = RegistryLockKey }, transaction, cancellationToken: cancellationToken));

    private static Task<string?> StatusAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string version, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT status FROM model_versions WHERE version = @version", new { version }, transaction, cancellationToken: cancellationToken));

    private static Task<string?> ActiveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT version FROM model_versions WHERE status = 'active'", transaction: transaction, cancellationToken: cancellationToken));

    // Where a rollback from `version` goes: recorded by the event that last made it active.
    private static Task<string?> RollbackTargetAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string version, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<string?>(new CommandDefinition($"""
            SELECT rollback_to FROM model_events
            WHERE version = @version AND action IN {ActivationActions}
            ORDER BY id DESC LIMIT 1
            """, new { version }, transaction, cancellationToken: cancellationToken));

    // Retire first, then activate: the one-active index is checked per statement.
    private static async Task ActivateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string version, string? current, CancellationToken cancellationToken)
    {
        if (current is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE model_versions SET status = 'retired', retired_at = now() WHERE version = @current",
                new { current }, transaction, cancellationToken: cancellationToken));
        }
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE model_versions
            SET status = 'active', activated_at = now(), retired_at = NULL, shadow_since = NULL, shadow_from_prediction_id = NULL
            WHERE version = @version
            """, new { version }, transaction, cancellationToken: cancellationToken));
    }

    private static async Task StopShadowRowAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string version, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE model_versions SET shadow_since = NULL, shadow_from_prediction_id = NULL WHERE version = @version",
            new { version }, transaction, cancellationToken: cancellationToken));
        await EventAsync(connection, transaction, version, "shadow_stopped", null, null, cancellationToken);
    }

    private static Task<int> EventAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string version, string action, string? replaced, string? rollbackTo, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO model_events (version, action, replaced_version, rollback_to) VALUES (@version, @action, @replaced, @rollbackTo)",
            new { version, action, replaced, rollbackTo }, transaction, cancellationToken: cancellationToken));

    // Delivered to every LISTENing instance when the transaction commits, never before.
    private static Task<int> NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string action, string version, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("SELECT pg_notify(@channel, @payload)",
            new { channel = Channel, payload = RegistryJson.Serialize(new { action, version }) }, transaction, cancellationToken: cancellationToken));

    private static async Task<bool> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TrainedCandidate model, string status, ModelComparison? comparison, CancellationToken cancellationToken)
    {
        var lineage = model.Lineage;
        var heldOut = model.HeldOut;
        var inserted = await connection.ExecuteScalarAsync<string?>(new CommandDefinition("""
            INSERT INTO model_versions (version, status, trainer, settings, content_sha256, base_data_sha256, base_training_rows,
                                        feedback_up_to_prediction_id, feedback_training_rows, feedback_held_out_rows, training_rows,
                                        parent_version, held_out_rows, held_out_accuracy, held_out_macro_f1, held_out_recall,
                                        held_out_confusion, comparison, model, activated_at, training_profile)
            VALUES (@Version, @Status, @Trainer, @Settings, @ContentSha256, @BaseDataSha256, @BaseTrainingRows,
                    @FeedbackUpTo, @FeedbackTrainingRows, @FeedbackHeldOutRows, @TrainingRows,
                    @ParentVersion, @HeldOutRows, @Accuracy, @MacroF1, @Recall::jsonb,
                    @Confusion::jsonb, @Comparison::jsonb, @Model, CASE WHEN @Status = 'active' THEN now() END, @Profile::jsonb)
            ON CONFLICT (version) DO NOTHING
            RETURNING version
            """,
            new
            {
                model.Model.Version,
                Status = status,
                model.Model.Trainer,
                model.Settings,
                ContentSha256 = ModelBytes.Sha256(model.Bytes),
                lineage.BaseDataSha256,
                lineage.BaseTrainingRows,
                FeedbackUpTo = lineage.FeedbackUpToPredictionId,
                lineage.FeedbackTrainingRows,
                lineage.FeedbackHeldOutRows,
                lineage.TrainingRows,
                lineage.ParentVersion,
                HeldOutRows = heldOut.Rows,
                heldOut.Accuracy,
                heldOut.MacroF1,
                Recall = RegistryJson.Serialize(heldOut.Recall),
                Confusion = RegistryJson.Serialize(new StoredConfusion(heldOut.Labels, heldOut.Confusion)),
                Comparison = comparison is null ? null : RegistryJson.Serialize(comparison),
                Model = model.Bytes,
                Profile = model.Profile.ToJson(),
            }, transaction, cancellationToken: cancellationToken));
        return inserted is not null;
    }

    private static ModelVersionView ToView(VersionRow r)
    {
        var confusion = RegistryJson.Deserialize<StoredConfusion>(r.held_out_confusion);
        return new ModelVersionView(
            r.version, r.status, r.shadow_since is not null, Utc(r.shadow_since), r.trainer, r.settings, r.content_sha256,
            new ModelLineage(r.base_data_sha256, r.base_training_rows, r.feedback_up_to_prediction_id, r.feedback_training_rows,
                r.feedback_held_out_rows, r.training_rows, r.held_out_rows, r.parent_version),
            new ModelEvaluation(r.held_out_rows, r.held_out_accuracy, r.held_out_macro_f1,
                RegistryJson.Deserialize<Dictionary<string, double?>>(r.held_out_recall), confusion.Counts),
            r.comparison is null ? null : RegistryJson.Deserialize<ModelComparison>(r.comparison),
            r.live_with_feedback is null ? null : new LiveAccuracy(r.live_with_feedback.Value, r.live_correct ?? 0,
                r.live_with_feedback > 0 ? (double)(r.live_correct ?? 0) / r.live_with_feedback.Value : null),
            r.shadow_scored is null ? null : new ShadowStats(r.shadow_scored.Value, r.shadow_agreement, r.shadow_with_feedback ?? 0, r.shadow_accuracy, r.served_accuracy),
            Utc(r.created_at)!.Value, Utc(r.activated_at), Utc(r.retired_at));
    }

    private static DateTimeOffset? Utc(DateTime? value) =>
        value is null ? null : new DateTimeOffset(DateTime.SpecifyKind(value.Value, DateTimeKind.Utc));

#pragma warning disable IDE1006, CA1707 // mirrors the column names so Dapper maps them without configuration
    private sealed class HeadRow
    {
        public string version { get; set; } = "";
        public string status { get; set; } = "";
        public bool in_shadow { get; set; }
        public string trainer { get; set; } = "";
        public string settings { get; set; } = "";
        public int data_rows { get; set; }
        public double held_out_accuracy { get; set; }
        public string content_sha256 { get; set; } = "";
        public string? training_profile { get; set; }
    }

    private sealed class CalibrationRow
    {
        public string version { get; set; } = "";
        public int bucket { get; set; }
        public long predictions { get; set; }
        public double mean_confidence { get; set; }
        public double accuracy { get; set; }
    }

    private sealed class VersionRow
    {
        public string version { get; set; } = "";
        public string status { get; set; } = "";
        public DateTime? shadow_since { get; set; }
        public string trainer { get; set; } = "";
        public string settings { get; set; } = "";
        public string content_sha256 { get; set; } = "";
        public string base_data_sha256 { get; set; } = "";
        public int base_training_rows { get; set; }
        public long? feedback_up_to_prediction_id { get; set; }
        public int feedback_training_rows { get; set; }
        public int feedback_held_out_rows { get; set; }
        public int training_rows { get; set; }
        public string? parent_version { get; set; }
        public int held_out_rows { get; set; }
        public double held_out_accuracy { get; set; }
        public double held_out_macro_f1 { get; set; }
        public string held_out_recall { get; set; } = "{}";
        public string held_out_confusion { get; set; } = "{}";
        public string? comparison { get; set; }
        public DateTime? created_at { get; set; }
        public DateTime? activated_at { get; set; }
        public DateTime? retired_at { get; set; }
        public long? live_with_feedback { get; set; }
        public long? live_correct { get; set; }
        public long? shadow_scored { get; set; }
        public double? shadow_agreement { get; set; }
        public long? shadow_with_feedback { get; set; }
        public double? shadow_accuracy { get; set; }
        public double? served_accuracy { get; set; }
    }
#pragma warning restore IDE1006, CA1707
}

using Npgsql;
using Vigie.Web.Infrastructure.Telemetry;
using Vigie.Web.Features.Batches;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Classifier;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Features.Batches;

/// <summary>
/// What db/0004 promises in place of the per-row foreign key, and what streaming a batch into COPY promises: a
/// prediction never names a missing batch, a batch with predictions is never deleted, and a batch that fails half-way
/// through leaves nothing behind.
/// </summary>
public sealed class BatchIntegrityTests
{
    private const string ForeignKeyViolation = "23503";

    private const string InsertBatchRow = """
        INSERT INTO predictions (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence,
                                 probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version, batch_id, batch_line)
        VALUES (40, 18, 190, 4000, 'Adelie', 0.9, 0.9, 0.05, 0.05, 'batch', 'test', @batch, 1)
        """;

    private static async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, Guid batch, NpgsqlTransaction? transaction = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddWithValue("batch", batch);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task InsertBatchAsync(NpgsqlConnection connection, Guid batch) =>
        await ExecuteAsync(connection, "INSERT INTO batches (id, file_name, accepted_rows, rejected_rows, model_version) VALUES (@batch, 'test.csv', 1, 0, 'test')", batch);

    [Test]
    public async Task A_prediction_naming_a_batch_that_does_not_exist_is_refused_by_the_database()
    {
        await using var connection = await OpenAsync();
        var missing = Guid.CreateVersion7();
        var before = await CountAsync();

        var insert = Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, InsertBatchRow, missing));
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY predictions (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence, probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version, batch_id, batch_line) FROM STDIN (FORMAT BINARY)");
        await copy.WriteRowAsync(default, 40.0, 18.0, 190.0, 4000.0, "Adelie", 0.9, 0.9, 0.05, 0.05, "batch", "test", missing, 1);
        var viaCopy = Assert.ThrowsAsync<PostgresException>(async () => await copy.CompleteAsync());

        Assert.Multiple(async () =>
        {
            Assert.That(insert!.SqlState, Is.EqualTo(ForeignKeyViolation), insert.Message);
            Assert.That(viaCopy!.SqlState, Is.EqualTo(ForeignKeyViolation), viaCopy.Message);
            Assert.That(await CountAsync(), Is.EqualTo(before));
        });
    }

    [TestCase(false, TestName = "A statement naming two stored batches stores its rows")]
    [TestCase(true, TestName = "A statement naming a stored batch first and then a missing one is refused whole")]
    public async Task Every_batch_a_statement_names_is_checked_not_only_its_first_rows(bool secondMissing)
    {
        await using var connection = await OpenAsync();
        var (first, second) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        await InsertBatchAsync(connection, first);
        if (!secondMissing)
        {
            await InsertBatchAsync(connection, second);
        }
        var before = await CountAsync();
        const string insertTwo = """
            INSERT INTO predictions (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence,
                                     probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version, batch_id, batch_line)
            SELECT 40, 18, 190, 4000, 'Adelie', 0.9, 0.9, 0.05, 0.05, 'batch', 'test', named.batch_id, named.line
            FROM (VALUES (@first, 1), (@first, 2), (@second, 1)) AS named (batch_id, line)
            """;
        await using var command = new NpgsqlCommand(insertTwo, connection);
        command.Parameters.AddWithValue("first", first);
        command.Parameters.AddWithValue("second", second);

        if (secondMissing)
        {
            var refused = Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Multiple(async () =>
            {
                Assert.That(refused!.SqlState, Is.EqualTo(ForeignKeyViolation), refused.Message);
                Assert.That(refused.MessageText, Does.Contain(second.ToString()), "the missing batch is named");
                Assert.That(await CountAsync(), Is.EqualTo(before));
            });
        }
        else
        {
            Assert.That(await command.ExecuteNonQueryAsync(), Is.EqualTo(3));
            Assert.That(await CountAsync(), Is.EqualTo(before + 3));
        }
    }

    [Test]
    public async Task Moving_a_prediction_to_a_batch_that_does_not_exist_is_refused()
    {
        await using var connection = await OpenAsync();
        var batch = Guid.CreateVersion7();
        await InsertBatchAsync(connection, batch);
        await ExecuteAsync(connection, InsertBatchRow, batch);

        var moved = Assert.ThrowsAsync<PostgresException>(() =>
            ExecuteAsync(connection, $"UPDATE predictions SET batch_id = '{Guid.CreateVersion7()}' WHERE batch_id = @batch", batch));

        Assert.Multiple(async () =>
        {
            Assert.That(moved!.SqlState, Is.EqualTo(ForeignKeyViolation), moved.Message);
            Assert.That(await CountAsync($"batch_id = '{batch}'"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_batch_with_predictions_cannot_be_deleted_and_an_empty_one_can()
    {
        await using var connection = await OpenAsync();
        var (used, empty) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        await InsertBatchAsync(connection, used);
        await InsertBatchAsync(connection, empty);
        await ExecuteAsync(connection, InsertBatchRow, used);

        var delete = Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, "DELETE FROM batches WHERE id = @batch", used));
        await ExecuteAsync(connection, "DELETE FROM batches WHERE id = @batch", empty);

        Assert.Multiple(async () =>
        {
            Assert.That(delete!.SqlState, Is.EqualTo(ForeignKeyViolation), delete.Message);
            Assert.That(await Database.ScalarAsync<long>($"SELECT count(*) FROM batches WHERE id = '{used}'"), Is.EqualTo(1));
            Assert.That(await Database.ScalarAsync<long>($"SELECT count(*) FROM batches WHERE id = '{empty}'"), Is.Zero);
            Assert.That(await CountAsync($"batch_id = '{used}'"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_delete_racing_an_uncommitted_insert_waits_for_it_and_is_then_refused()
    {
        await using var setup = await OpenAsync();
        var batch = Guid.CreateVersion7();
        await InsertBatchAsync(setup, batch);

        await using var inserter = await OpenAsync();
        await using var transaction = await inserter.BeginTransactionAsync();
        await ExecuteAsync(inserter, InsertBatchRow, batch, transaction);

        await using var deleter = await OpenAsync();
        var delete = ExecuteAsync(deleter, "DELETE FROM batches WHERE id = @batch", batch);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var waited = !delete.IsCompleted;
        await transaction.CommitAsync();
        var refused = Assert.ThrowsAsync<PostgresException>(() => delete);

        Assert.Multiple(async () =>
        {
            Assert.That(waited, Is.True, "the delete went ahead while the batch's rows were being inserted");
            Assert.That(refused!.SqlState, Is.EqualTo(ForeignKeyViolation), refused.Message);
            Assert.That(await CountAsync($"batch_id = '{batch}'"), Is.EqualTo(1));
            Assert.That(await Database.ScalarAsync<long>($"SELECT count(*) FROM batches WHERE id = '{batch}'"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_batch_that_fails_half_way_through_its_rows_stores_nothing()
    {
        await using var dataSource = NpgsqlDataSource.Create(Database.ConnectionString);
        var store = new BatchStore(new VigieDatabase(dataSource, new VigieMetrics(Prometheus.Metrics.NewCustomRegistry())));
        var batch = new NewBatch(Guid.CreateVersion7(), "half.csv", [], "test");
        var before = await CountAsync();

        IEnumerable<ScoredLine> Lines()
        {
            var result = new SpeciesPrediction("Adelie", 0.9, new Dictionary<string, double> { ["Adelie"] = 0.9, ["Chinstrap"] = 0.05, ["Gentoo"] = 0.05 }, OutOfDistribution.None);
            for (var line = 2; line < 5_002; line++)
            {
                yield return new ScoredLine(new BatchRow(line, new Measurements(40, 18, 190, 4000), []), result, null);
            }
            throw new IOException("the upload broke off");
        }

        Assert.ThrowsAsync<IOException>(() => store.SaveAsync(batch, Lines(), new BatchLimits(10_000, 1_000), CancellationToken.None));

        Assert.Multiple(async () =>
        {
            Assert.That(await CountAsync(), Is.EqualTo(before), "rows of the failed batch were stored");
            Assert.That(await Database.ScalarAsync<long>($"SELECT count(*) FROM batches WHERE id = '{batch.Id}'"), Is.Zero);
        });
    }

    [Test]
    public async Task A_batch_one_line_over_the_row_cap_stores_nothing_and_stops_reading_there()
    {
        await using var dataSource = NpgsqlDataSource.Create(Database.ConnectionString);
        var store = new BatchStore(new VigieDatabase(dataSource, new VigieMetrics(Prometheus.Metrics.NewCustomRegistry())));
        var batch = new NewBatch(Guid.CreateVersion7(), "over.csv", [], "test");
        var before = await CountAsync();
        var read = 0;

        IEnumerable<ScoredLine> Lines()
        {
            var result = new SpeciesPrediction("Adelie", 0.9, new Dictionary<string, double> { ["Adelie"] = 0.9, ["Chinstrap"] = 0.05, ["Gentoo"] = 0.05 }, OutOfDistribution.None);
            for (var line = 2; line < 1_000_000; line++)
            {
                read++;
                yield return line % 2 == 0
                    ? new ScoredLine(new BatchRow(line, new Measurements(40, 18, 190, 4000), []), result, null)
                    : new ScoredLine(null, null, new RowError(line, "bad"));
            }
        }

        var stored = await store.SaveAsync(batch, Lines(), new BatchLimits(MaxRows: 100, MaxStoredRejections: 10), CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(stored, Is.Null);
            Assert.That(read, Is.EqualTo(101), "lines read");
            Assert.That(await CountAsync(), Is.EqualTo(before), "rows of the refused batch were stored");
            Assert.That(await Database.ScalarAsync<long>($"SELECT count(*) FROM batches WHERE id = '{batch.Id}'"), Is.Zero);
        });
    }

    [Test]
    public async Task Rejections_beyond_the_stored_ones_are_counted_and_not_stored()
    {
        await using var dataSource = NpgsqlDataSource.Create(Database.ConnectionString);
        var store = new BatchStore(new VigieDatabase(dataSource, new VigieMetrics(Prometheus.Metrics.NewCustomRegistry())));
        var batch = new NewBatch(Guid.CreateVersion7(), "rejections.csv", [], "test");
        var lines = Enumerable.Range(2, 100).Select(line => new ScoredLine(null, null, new RowError(line, $"bad {line}")));

        var stored = await store.SaveAsync(batch, lines, new BatchLimits(MaxRows: 100, MaxStoredRejections: 10), CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(stored!.Rejected, Is.EqualTo(100));
            Assert.That(stored.StoredRejections.Select(r => r.Line), Is.EqualTo(Enumerable.Range(2, 10)), "the first ones, in file order");
            Assert.That(stored.RejectionsOmitted, Is.EqualTo(90));
            Assert.That(await Database.ScalarAsync<long>($"SELECT count(*) FROM batch_rejections WHERE batch_id = '{batch.Id}'"), Is.EqualTo(10));
            Assert.That(await Database.ScalarAsync<long>($"SELECT rejected_rows FROM batches WHERE id = '{batch.Id}'"), Is.EqualTo(100));
        });
    }
}

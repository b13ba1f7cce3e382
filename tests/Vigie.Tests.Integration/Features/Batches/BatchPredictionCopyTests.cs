using Npgsql;
using Vigie.Web.Classifier;
using Vigie.Web.Features.Predictions;
using static Vigie.Tests.Integration.SharedApp;

namespace Vigie.Tests.Integration.Features.Batches;

/// <summary>
/// The batch rows' binary COPY is laid out by Vigie itself (<see cref="BatchPredictionCopy"/>), byte by byte: these
/// read back, column by column, what PostgreSQL stored from it.
/// </summary>
public sealed class BatchPredictionCopyTests
{
    private const string ModelVersion = "copy-test-v1";

    private static SpeciesPrediction Scored(string species, double[] probabilities, OutOfDistribution outOfDistribution) =>
        new(species, probabilities.Max(), new SpeciesProbabilityDictionary(probabilities), outOfDistribution);

    private static async Task<(NpgsqlConnection Connection, NpgsqlTransaction Transaction, Guid BatchId)> BeginBatchAsync()
    {
        var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        var batchId = Guid.CreateVersion7();
        await using var insert = new NpgsqlCommand(
            "INSERT INTO batches (id, file_name, accepted_rows, rejected_rows, model_version) VALUES ($1, 'copy-test.csv', 0, 0, $2)", connection, transaction)
        {
            Parameters = { new() { Value = batchId }, new() { Value = ModelVersion } },
        };
        await insert.ExecuteNonQueryAsync();
        return (connection, transaction, batchId);
    }

    [Test]
    public async Task Every_column_of_every_row_is_stored_as_written_across_chunks_and_past_the_buffer()
    {
        var unicode = "héllo wörld ✓ 日本語 🐧 \"quoted\", comma; 'single' \\ back";
        var longValue = new string('€', 100_000); // 300,000 bytes of UTF-8: more than the copy's whole buffer
        var flagged = new OutOfDistribution(4.25, [Measurement.BillLength, Measurement.BodyMass]);
        var rows = new List<(int Line, Measurements Measurements, string[] Extras, SpeciesPrediction Result)>
        {
            (2, new(39.1, 18.7, 181, 3750), [], Scored(Species.Adelie, [0.9, 0.06, 0.04], OutOfDistribution.None)),
            (3, new(46.123456789012345, 13.2, 211.5, 4500.25), ["", unicode], Scored(Species.Chinstrap, [0.1, 0.7000000000000001, 0.2], flagged)),
            (5, new(50, 15, 220, 5000), [longValue, "after the long one"], Scored(Species.Gentoo, [1e-300, 2.5e-17, 1], OutOfDistribution.None)),
        };
        // Enough rows after them for several 64 KB chunks.
        for (var i = 0; i < 3000; i++)
        {
            rows.Add((6 + i, new(35 + i % 20, 15 + i % 5, 180 + i % 40, 3000 + i), [$"row {i}"], Scored(Species.All[i % 3], i % 3 == 0 ? [0.5, 0.25, 0.25] : i % 3 == 1 ? [0.2, 0.6, 0.2] : [0.1, 0.1, 0.8], OutOfDistribution.None)));
        }

        var (connection, transaction, batchId) = await BeginBatchAsync();
        await using (connection)
        await using (transaction)
        {
            await using (var copy = await BatchPredictionCopy.BeginAsync(connection, batchId, ModelVersion, CancellationToken.None))
            {
                foreach (var (line, measurements, extras, result) in rows)
                {
                    await copy.WriteAsync(line, measurements, extras, result, CancellationToken.None);
                }
                await copy.CompleteAsync(CancellationToken.None);
            }
            await transaction.CommitAsync();
        }

        await using var reader = new NpgsqlConnection(Database.ConnectionString);
        await reader.OpenAsync();
        await using var select = new NpgsqlCommand($"""
            SELECT batch_line, {PredictionStore.MeasurementColumns}, species, confidence, {PredictionStore.ProbabilityColumns},
                   channel, model_version, ood_score, ood_features, batch_id, batch_extra_values
            FROM predictions WHERE batch_id = $1 ORDER BY batch_line
            """, reader) { Parameters = { new() { Value = batchId } } };
        await using var stored = await select.ExecuteReaderAsync();
        var index = 0;
        while (await stored.ReadAsync())
        {
            var (line, measurements, extras, result) = rows[index++];
            var expected = new object?[]
            {
                line, measurements.BillLengthMm, measurements.BillDepthMm, measurements.FlipperLengthMm, measurements.BodyMassG,
                result.Species, result.Confidence, result.Probabilities[Species.Adelie], result.Probabilities[Species.Chinstrap], result.Probabilities[Species.Gentoo],
                "batch", ModelVersion, result.OutOfDistribution.Score,
                result.OutOfDistribution.Flagged ? string.Join(',', result.OutOfDistribution.Features.Select(f => f.Column)) : null,
                batchId, extras.Length == 0 ? null : extras,
            };
            var actual = Enumerable.Range(0, stored.FieldCount).Select(i => stored.IsDBNull(i) ? null : stored.GetValue(i)).ToArray();
            Assert.That(actual, Is.EqualTo(expected), $"line {line}");
        }
        Assert.That(index, Is.EqualTo(rows.Count), "every row stored, none twice");
    }

    [Test]
    public async Task A_copy_disposed_before_it_completes_stores_nothing_and_leaves_the_connection_usable()
    {
        var (connection, transaction, batchId) = await BeginBatchAsync();
        await using (connection)
        {
            await using (transaction)
            {
                await using (var copy = await BatchPredictionCopy.BeginAsync(connection, batchId, ModelVersion, CancellationToken.None))
                {
                    // Several chunks already sent to PostgreSQL before the copy is abandoned.
                    for (var line = 2; line < 2000; line++)
                    {
                        await copy.WriteAsync(line, new(39.1, 18.7, 181, 3750), ["x"], Scored(Species.Adelie, [0.9, 0.06, 0.04], OutOfDistribution.None), CancellationToken.None);
                    }
                }
                await transaction.RollbackAsync();
            }

            await using var check = new NpgsqlCommand("SELECT count(*) FROM predictions WHERE batch_id = $1", connection) { Parameters = { new() { Value = batchId } } };
            Assert.That(await check.ExecuteScalarAsync(), Is.EqualTo(0L), "the same connection answers, and nothing of the copy was stored");
        }
    }
}

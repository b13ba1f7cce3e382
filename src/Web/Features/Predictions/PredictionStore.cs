using Dapper;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Model;

namespace Vigie.Web.Features.Predictions;

/// <summary>A prediction about to be stored.</summary>
public sealed record NewPrediction(Measurements Measurements, SpeciesPrediction Result, string Channel, string ModelVersion);

/// <summary>SQL of the <c>predictions</c> table; every statement parameterised.</summary>
public sealed class PredictionStore(VigieDatabase database, PredictionWriter writer)
{
    internal const string Columns = """
        id, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence,
        probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version, created_at,
        batch_id, actual_species
        """;

    /// <summary>
    /// Stores one prediction, committed when the returned task completes, and returns it as stored. The insert goes
    /// through <see cref="PredictionWriter"/>, which writes the predictions of concurrent requests together.
    /// </summary>
    public async Task<Prediction> InsertAsync(NewPrediction prediction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        var (id, createdAt) = await writer.InsertAsync(prediction, cancellationToken);
        var m = prediction.Measurements;
        var result = prediction.Result;
        var p = result.Probabilities;
        // The values stored are the values sent (float8 round-trips doubles exactly): the answer is built from them.
        return new Prediction(id, m.BillLengthMm, m.BillDepthMm, m.FlipperLengthMm, m.BodyMassG, result.Species, result.Confidence,
            new Dictionary<string, double>
            {
                [Species.Adelie] = p[Species.Adelie],
                [Species.Chinstrap] = p[Species.Chinstrap],
                [Species.Gentoo] = p[Species.Gentoo],
            },
            prediction.Channel, prediction.ModelVersion, createdAt, null, null);
    }

    public Task<Prediction?> FindAsync(long id, CancellationToken cancellationToken) =>
        database.RunAsync("get_prediction", async connection =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<PredictionRow>(new CommandDefinition(
                $"SELECT {Columns} FROM predictions WHERE id = @id", new { id }, cancellationToken: cancellationToken));
            return row is null ? null : ToPrediction(row);
        }, cancellationToken);

    /// <summary>Newest first, keyset-paged on id so deep pages cost the same as the first.</summary>
    public Task<IReadOnlyList<Prediction>> ListAsync(PredictionQuery query, int take, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return database.RunAsync("list_predictions", async connection =>
        {
            var rows = await connection.QueryAsync<PredictionRow>(new CommandDefinition($"""
                SELECT {Columns} FROM predictions
                WHERE (@Before::bigint IS NULL OR id < @Before)
                  AND (@Species::text IS NULL OR species = @Species)
                  AND (@Channel::text IS NULL OR channel = @Channel)
                ORDER BY id DESC
                LIMIT @Take
                """,
                new { query.Before, query.Species, query.Channel, Take = take },
                cancellationToken: cancellationToken));
            return (IReadOnlyList<Prediction>)rows.Select(ToPrediction).ToList();
        }, cancellationToken);
    }

    /// <summary>Records the true species once; returns null when the prediction does not exist, and the stored row otherwise.</summary>
    public Task<(Prediction? Prediction, bool Recorded)> RecordFeedbackAsync(long id, string actualSpecies, CancellationToken cancellationToken) =>
        database.RunAsync("record_feedback", async connection =>
        {
            var updated = await connection.QuerySingleOrDefaultAsync<PredictionRow>(new CommandDefinition($"""
                UPDATE predictions SET actual_species = @actualSpecies, feedback_at = now()
                WHERE id = @id AND actual_species IS NULL
                RETURNING {Columns}
                """, new { id, actualSpecies }, cancellationToken: cancellationToken));
            if (updated is not null)
            {
                return ((Prediction?)ToPrediction(updated), true);
            }
            var existing = await connection.QuerySingleOrDefaultAsync<PredictionRow>(new CommandDefinition(
                $"SELECT {Columns} FROM predictions WHERE id = @id", new { id }, cancellationToken: cancellationToken));
            return (existing is null ? null : ToPrediction(existing), false);
        }, cancellationToken);

    internal static Prediction ToPrediction(PredictionRow r) => new(
        r.id, r.bill_length_mm, r.bill_depth_mm, r.flipper_length_mm, r.body_mass_g, r.species, r.confidence,
        new Dictionary<string, double>
        {
            [Species.Adelie] = r.probability_adelie,
            [Species.Chinstrap] = r.probability_chinstrap,
            [Species.Gentoo] = r.probability_gentoo,
        },
        r.channel, r.model_version, new DateTimeOffset(DateTime.SpecifyKind(r.created_at, DateTimeKind.Utc)), r.batch_id, r.actual_species);

#pragma warning disable IDE1006, CA1707 // mirrors the column names so Dapper maps them without configuration
    internal sealed record PredictionRow(
        long id, double bill_length_mm, double bill_depth_mm, double flipper_length_mm, double body_mass_g, string species,
        double confidence, double probability_adelie, double probability_chinstrap, double probability_gentoo, string channel,
        string model_version, DateTime created_at, Guid? batch_id, string? actual_species);
#pragma warning restore IDE1006, CA1707
}

-- Retention (Retention__PredictionDays) deletes old predictions in steps of a few thousand rows, for ever. Each deleted
-- prediction takes its shadow scores with it (0005), and two costs of that grew with everything ever scored in shadow:
--   * the scores of the deleted predictions were found by prediction_id, which no index leads with (the primary key
--     is (version, prediction_id)): a sequential scan of shadow_predictions per step;
--   * the tallies of the versions concerned were counted again from all their scores: another full join per step.
-- Now the scores are found through an index on prediction_id, and the tallies are decremented by what was deleted.
-- psql: \d shadow_predictions   SELECT * FROM shadow_tallies;

CREATE INDEX shadow_predictions_prediction_idx ON shadow_predictions (prediction_id);

-- A prediction deleted with its shadow scores: the agreements those scores counted are taken off the tallies first
-- (the prediction's answer is known only here, from the deleted rows), then the scores go, and the trigger below takes
-- the scores off.
CREATE OR REPLACE FUNCTION predictions_delete_shadow_scores() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE shadow_tallies t
    SET agreed = t.agreed - g.agreed
    FROM (SELECT s.version, count(*) AS agreed
          FROM shadow_predictions s JOIN removed r ON r.id = s.prediction_id
          WHERE s.species = r.species
          GROUP BY s.version) g
    WHERE t.version = g.version;
    DELETE FROM shadow_predictions s USING removed r WHERE s.prediction_id = r.id;
    RETURN NULL;
END
$$;

-- Scores deleted: each takes one off its version's count, and one off its agreements when its prediction is still
-- there and got the same answer (a prediction deleted in the same statement was accounted for above).
CREATE OR REPLACE FUNCTION shadow_tallies_recount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE shadow_tallies t
    SET scored = t.scored - c.scored, agreed = t.agreed - c.agreed
    FROM (SELECT s.version,
                 count(*) AS scored,
                 count(p.id) FILTER (WHERE s.species = p.species) AS agreed
          FROM removed s LEFT JOIN predictions p ON p.id = s.prediction_id
          GROUP BY s.version) c
    WHERE t.version = c.version;
    RETURN NULL;
END
$$;

-- History pages filtered by channel (PredictionStore.ListSql) read the channel's own index from the cursor down,
-- bounded by (channel, id) row comparisons. Batch rows had an index on the id alone (0004), which such a bound cannot
-- start from: the planner then walked the primary key and, for a page of batch rows below a stretch of API traffic,
-- stepped over every API row in between (200,000 rows examined for 26 in the benchmark's table). The key now leads
-- with the channel, as the index of the other channels does; every key of this index has the same channel, so an
-- insert compares equal strings (a byte comparison) before the id.
-- psql: EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM predictions WHERE channel = 'batch' AND (channel, id) < ('batch', 1000000) AND (channel, id) > ('batch', 0) ORDER BY channel DESC, id DESC LIMIT 26;
DROP INDEX predictions_batch_rows_id_idx;
CREATE INDEX predictions_batch_rows_channel_id_idx ON predictions (channel, id) WHERE channel = 'batch';

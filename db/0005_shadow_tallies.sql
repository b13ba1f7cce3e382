-- shadow_evaluation (0003) joined every shadow-scored prediction to its prediction and aggregated them all, and every
-- instance reads it for the model gauges every 15 s: its cost grew with each prediction scored in shadow (seconds of
-- PostgreSQL CPU per read after a million). Now a tally per version is kept as rows are scored, and only predictions
-- with feedback (few, and indexed by predictions_feedback_idx) are joined to their shadow scores.
-- psql: SELECT * FROM shadow_tallies;   SELECT * FROM shadow_evaluation;

CREATE TABLE shadow_tallies (
    version     text    PRIMARY KEY REFERENCES model_versions (version),
    -- Predictions the version scored in shadow, and those on which it agreed with the answer given.
    scored      bigint  NOT NULL CHECK (scored >= 0),
    agreed      bigint  NOT NULL CHECK (agreed BETWEEN 0 AND scored)
);

INSERT INTO shadow_tallies (version, scored, agreed)
SELECT s.version, count(*), count(*) FILTER (WHERE s.species = p.species)
FROM shadow_predictions s
JOIN predictions p ON p.id = s.prediction_id
GROUP BY s.version;

-- Kept by the database, whoever writes the scores: one upsert per statement (the shadow worker writes up to 500 rows
-- in one), joined to the predictions of that statement only.
CREATE FUNCTION shadow_tallies_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO shadow_tallies AS t (version, scored, agreed)
    SELECT s.version, count(*), count(*) FILTER (WHERE s.species = p.species)
    FROM inserted s
    JOIN predictions p ON p.id = s.prediction_id
    GROUP BY s.version
    ON CONFLICT (version) DO UPDATE SET scored = t.scored + EXCLUDED.scored, agreed = t.agreed + EXCLUDED.agreed;
    RETURN NULL;
END
$$;

CREATE TRIGGER shadow_tallies_add
    AFTER INSERT ON shadow_predictions REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION shadow_tallies_add();

-- Shadow scores disappear only with their prediction (ON DELETE CASCADE), which Vigie never deletes: should someone,
-- the tallies of the versions concerned are counted again from what is left.
CREATE FUNCTION shadow_tallies_recount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE shadow_tallies t
    SET scored = c.scored, agreed = c.agreed
    FROM (SELECT v.version,
                 (SELECT count(*) FROM shadow_predictions s WHERE s.version = v.version) AS scored,
                 (SELECT count(*) FROM shadow_predictions s JOIN predictions p ON p.id = s.prediction_id
                  WHERE s.version = v.version AND s.species = p.species) AS agreed
          FROM (SELECT DISTINCT version FROM removed) v) c
    WHERE t.version = c.version;
    RETURN NULL;
END
$$;

CREATE TRIGGER shadow_tallies_recount
    AFTER DELETE ON shadow_predictions REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION shadow_tallies_recount();

DROP VIEW shadow_evaluation;

-- Per shadowed version: how often it agreed with the answer given, and how each did on the feedback that came later.
CREATE VIEW shadow_evaluation AS
SELECT t.version,
       t.scored,
       t.agreed::double precision / nullif(t.scored, 0)                              AS agreement,
       f.with_feedback,
       f.shadow_accuracy,
       f.served_accuracy
FROM shadow_tallies t
CROSS JOIN LATERAL (
    SELECT count(*)                                                                  AS with_feedback,
           avg((s.species = p.actual_species)::int)::double precision                AS shadow_accuracy,
           avg((p.species = p.actual_species)::int)::double precision                AS served_accuracy
    FROM predictions p
    JOIN shadow_predictions s ON s.version = t.version AND s.prediction_id = p.id
    WHERE p.actual_species IS NOT NULL
) f;

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

-- The two foreign keys of shadow_predictions checked each row with a query of its own (measured: 100,000 scores in
-- statements of 500 took 1.6 s with them, 0.85 s with the checks below, tallies included). Both are now checked once
-- per statement by the trigger that keeps the tallies: every scored prediction must exist, and the version must exist
-- because its tally row references model_versions (which also keeps a version with scores from being deleted).
-- Deleting predictions still deletes their shadow scores (trigger below).
ALTER TABLE shadow_predictions DROP CONSTRAINT shadow_predictions_prediction_id_fkey;
ALTER TABLE shadow_predictions DROP CONSTRAINT shadow_predictions_version_fkey;

-- Kept by the database, whoever writes the scores: one upsert per statement (the shadow worker writes up to 500 rows
-- in one), joined to the predictions of that statement only.
CREATE FUNCTION shadow_tallies_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    named  bigint;
    locked bigint;
BEGIN
    -- Every scored prediction must exist; each is locked FOR KEY SHARE until commit, as a foreign key would lock it,
    -- so a concurrent delete waits. Fewer rows locked than named means some do not exist.
    SELECT count(DISTINCT prediction_id) INTO named FROM inserted;
    PERFORM 1 FROM predictions p WHERE p.id IN (SELECT prediction_id FROM inserted) FOR KEY SHARE;
    GET DIAGNOSTICS locked = ROW_COUNT;
    IF locked < named THEN
        RAISE EXCEPTION 'shadow_predictions names % predictions that do not exist', named - locked
            USING ERRCODE = 'foreign_key_violation', TABLE = 'shadow_predictions', CONSTRAINT = 'shadow_tallies_add';
    END IF;
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

-- A deleted prediction takes its shadow scores with it (Vigie never deletes predictions: this is for whoever does),
-- and the tallies of the versions concerned are counted again from what is left.
CREATE FUNCTION predictions_delete_shadow_scores() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM shadow_predictions WHERE prediction_id IN (SELECT id FROM removed);
    RETURN NULL;
END
$$;

CREATE TRIGGER predictions_delete_shadow_scores
    AFTER DELETE ON predictions REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION predictions_delete_shadow_scores();

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

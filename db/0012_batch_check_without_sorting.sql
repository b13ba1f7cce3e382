-- The per-statement batch check of 0004, cheaper for the two kinds of statement that store predictions:
--   * the API's and the form's grouped inserts name no batch: the first look at their rows finds none, and that is all;
--   * a batch upload's COPY names its one batch in all its 100,000 rows: that batch is checked and locked from the first
--     row, and the rows are then only scanned for another. The DISTINCT over every row's batch id sorted them all, at
--     the end of the COPY while the upload waited: 22 ms of a 100,000-row upload's 410 ms COPY, now about a third of it.
-- A statement naming several batches (a restore's COPY) is checked as before: every batch it names, each locked.
-- psql: \sf predictions_batch_must_exist
CREATE OR REPLACE FUNCTION predictions_batch_must_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first_named uuid;
    missing uuid;
BEGIN
    SELECT batch_id INTO first_named FROM inserted WHERE batch_id IS NOT NULL LIMIT 1;
    IF first_named IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM batches WHERE id = first_named FOR KEY SHARE;
    IF NOT FOUND THEN
        missing := first_named;
    ELSE
        -- Any other batch named, worked out once; each that exists is locked as it is found.
        WITH named AS MATERIALIZED (SELECT DISTINCT batch_id FROM inserted WHERE batch_id IS NOT NULL AND batch_id <> first_named),
             stored AS (SELECT b.id FROM batches b WHERE b.id IN (SELECT batch_id FROM named) FOR KEY SHARE)
        SELECT n.batch_id INTO missing
        FROM named n
        WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.id = n.batch_id)
        LIMIT 1;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'predictions.batch_id % does not name a stored batch', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'predictions', CONSTRAINT = 'predictions_batch_must_exist';
    END IF;
    RETURN NULL;
END
$$;

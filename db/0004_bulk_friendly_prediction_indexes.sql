-- Batch uploads add 100,000 predictions in one COPY. Measured on a 2-core machine, four-fifths of PostgreSQL's work
-- in such a COPY went to keeping what 0001 declared: a foreign-key lookup per row (one queued AFTER ROW trigger each)
-- and three secondary b-trees, two of them keyed (…, id DESC), where every new row lands at the left end of its
-- range and pages split in half. This keeps what those gave at a fraction of the cost:
--   * history pages stay fast: ORDER BY id DESC reads the primary key (or the channel index) backwards;
--   * a batch's rows are still found by batch_id, in line order, for the results download;
--   * a prediction still cannot name a batch that does not exist, nor can a batch with predictions be deleted.
-- psql: \d predictions   (indexes and triggers)

-- A b-tree is read backwards as cheaply as forwards, so keys ascend and new rows go to the right end of the tree.
-- Batch rows get their own index on the id alone: inserting them compares integers, not text in a collation.
DROP INDEX predictions_channel_id_idx;
CREATE INDEX predictions_channel_id_idx ON predictions (channel, id) WHERE channel <> 'batch';
CREATE INDEX predictions_batch_rows_id_idx ON predictions (id) WHERE channel = 'batch';

-- No species index: each species is a fifth or more of the predictions, so reading the primary key backwards finds
-- a page of one species after a few dozen rows; an index would cost every insert for no measurable gain.
DROP INDEX predictions_species_id_idx;

-- A batch's rows are stored together by one COPY and batch ids are UUIDv7 (time-ordered), so a BRIN index over
-- block ranges finds them at almost no insert cost; the results download sorts the batch's rows by line.
DROP INDEX predictions_batch_idx;
CREATE INDEX predictions_batch_id_brin ON predictions USING brin (batch_id) WITH (autosummarize = on);

-- The foreign key becomes one check per statement over all its rows (one COPY, one check) instead of one per row.
-- The referenced batches are locked FOR KEY SHARE until commit, as a foreign key does, so a concurrent delete waits.
ALTER TABLE predictions DROP CONSTRAINT predictions_batch_id_fkey;

CREATE FUNCTION predictions_batch_must_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing uuid;
BEGIN
    -- The statement's distinct batch ids are worked out once; each that exists is locked as it is found.
    WITH named AS MATERIALIZED (SELECT DISTINCT batch_id FROM inserted WHERE batch_id IS NOT NULL),
         stored AS (SELECT b.id FROM batches b WHERE b.id IN (SELECT batch_id FROM named) FOR KEY SHARE)
    SELECT n.batch_id INTO missing
    FROM named n
    WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.id = n.batch_id)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'predictions.batch_id % does not name a stored batch', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'predictions', CONSTRAINT = 'predictions_batch_must_exist';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER predictions_batch_must_exist
    AFTER INSERT ON predictions REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION predictions_batch_must_exist();

-- Nothing in Vigie changes a prediction's batch; should someone, the row is checked like an insert.
CREATE FUNCTION predictions_batch_change_must_exist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM batches WHERE id = NEW.batch_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'predictions.batch_id % does not name a stored batch', NEW.batch_id
            USING ERRCODE = 'foreign_key_violation', TABLE = 'predictions', CONSTRAINT = 'predictions_batch_must_exist';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER predictions_batch_change_must_exist
    BEFORE UPDATE OF batch_id ON predictions
    FOR EACH ROW WHEN (NEW.batch_id IS NOT NULL AND NEW.batch_id IS DISTINCT FROM OLD.batch_id)
    EXECUTE FUNCTION predictions_batch_change_must_exist();

-- AFTER, not BEFORE: the delete has waited for the FOR KEY SHARE lock of an inserting transaction by then, and this
-- check sees that transaction's rows once it has committed.
CREATE FUNCTION batches_keep_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM predictions WHERE batch_id = OLD.id) THEN
        RAISE EXCEPTION 'batch % still has predictions', OLD.id
            USING ERRCODE = 'foreign_key_violation', TABLE = 'batches', CONSTRAINT = 'predictions_batch_must_exist';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER batches_keep_referenced_on_delete
    AFTER DELETE ON batches
    FOR EACH ROW EXECUTE FUNCTION batches_keep_referenced();

CREATE TRIGGER batches_keep_referenced_on_new_id
    AFTER UPDATE OF id ON batches
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id) EXECUTE FUNCTION batches_keep_referenced();

-- The model registry: every model version Vigie has trained, with its lineage, held-out metrics and the serialized
-- ML.NET model, one of them active. Retraining runs, the promotion history and shadow scoring live beside it.
-- psql: SELECT version, status, held_out_accuracy, created_at FROM model_versions ORDER BY created_at;
--       SELECT * FROM model_events ORDER BY id;   SELECT * FROM shadow_evaluation;   SELECT * FROM model_live_accuracy;

CREATE TABLE model_versions (
    version                     text             PRIMARY KEY CHECK (version ~ '^[0-9a-z-]{1,64}$'),
    status                      text             NOT NULL CHECK (status IN ('candidate', 'active', 'retired')),
    -- A candidate in shadow scores every prediction beside the active model without changing the answer.
    shadow_since                timestamptz,
    shadow_from_prediction_id   bigint,
    trainer                     text             NOT NULL,
    settings                    text             NOT NULL,
    -- SHA-256 of the serialized model below, checked when an instance loads it.
    content_sha256              text             NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    -- Lineage: the base data set (file hash and rows of its training split) plus the feedback it saw.
    base_data_sha256            text             NOT NULL,
    base_training_rows          integer          NOT NULL CHECK (base_training_rows >= 0),
    feedback_up_to_prediction_id bigint,
    feedback_training_rows      integer          NOT NULL DEFAULT 0 CHECK (feedback_training_rows >= 0),
    feedback_held_out_rows      integer          NOT NULL DEFAULT 0 CHECK (feedback_held_out_rows >= 0),
    training_rows               integer          NOT NULL CHECK (training_rows > 0),
    parent_version              text             REFERENCES model_versions (version),
    -- Metrics on the held-out rows (base test split + held-out feedback): accuracy, macro-F1, recall per species,
    -- confusion matrix {labels, counts[actual][predicted]}.
    held_out_rows               integer          NOT NULL CHECK (held_out_rows > 0),
    held_out_accuracy           double precision NOT NULL CHECK (held_out_accuracy BETWEEN 0 AND 1),
    held_out_macro_f1           double precision NOT NULL CHECK (held_out_macro_f1 BETWEEN 0 AND 1),
    held_out_recall             jsonb            NOT NULL,
    held_out_confusion          jsonb            NOT NULL,
    -- The model that was active when this one was trained, evaluated on the same held-out rows and recent feedback.
    comparison                  jsonb,
    model                       bytea            NOT NULL,
    created_at                  timestamptz      NOT NULL DEFAULT now(),
    activated_at                timestamptz,
    retired_at                  timestamptz,
    CHECK (shadow_since IS NULL OR status = 'candidate'),
    CHECK ((shadow_since IS NULL) = (shadow_from_prediction_id IS NULL)),
    CHECK (status <> 'active' OR activated_at IS NOT NULL)
);

-- Exactly one active version: at most one by this index, at least one (once any version exists) by the trigger below.
CREATE UNIQUE INDEX model_versions_one_active ON model_versions ((true)) WHERE status = 'active';
-- At most one candidate in shadow.
CREATE UNIQUE INDEX model_versions_one_shadow ON model_versions ((true)) WHERE shadow_since IS NOT NULL;

CREATE FUNCTION model_versions_keep_an_active_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM model_versions) AND NOT EXISTS (SELECT 1 FROM model_versions WHERE status = 'active') THEN
        RAISE EXCEPTION 'model_versions must keep exactly one active version'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'model_versions_keep_an_active_version';
    END IF;
    RETURN NULL;
END
$$;

-- Checked at commit, so a promotion may retire the old version before it activates the new one.
CREATE CONSTRAINT TRIGGER model_versions_keep_an_active_version
    AFTER INSERT OR UPDATE OF status OR DELETE ON model_versions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION model_versions_keep_an_active_version();

-- What happened to the registry, in order. An activation records the version it replaced and the version a rollback
-- from it returns to, so successive rollbacks walk back through the activation history.
CREATE TABLE model_events (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version             text        NOT NULL REFERENCES model_versions (version),
    action              text        NOT NULL CHECK (action IN ('registered', 'activated', 'promoted', 'rolled_back', 'shadow_started', 'shadow_stopped')),
    replaced_version    text        REFERENCES model_versions (version),
    rollback_to         text        REFERENCES model_versions (version),
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX model_events_version_idx ON model_events (version, id DESC);

-- Retraining runs requested through POST /api/models/train (any instance); one queued or running at a time.
CREATE TABLE model_training_runs (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status              text        NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    stage               text        NOT NULL,
    instance            text        NOT NULL,
    requested_at        timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    -- The running instance touches this every few seconds; a run whose instance died is given up after a minute.
    heartbeat_at        timestamptz NOT NULL DEFAULT now(),
    candidate_version   text        REFERENCES model_versions (version),
    -- registered: a new candidate; unchanged: the same data gave a version the registry already holds.
    outcome             text        CHECK (outcome IN ('registered', 'unchanged')),
    error               text,
    CHECK ((status IN ('succeeded', 'failed')) = (finished_at IS NOT NULL)),
    CHECK ((status = 'succeeded') = (outcome IS NOT NULL))
);

CREATE UNIQUE INDEX model_training_runs_one_at_a_time ON model_training_runs ((true)) WHERE status IN ('queued', 'running');

-- Predictions scored by the candidate in shadow, beside the answer the active model gave (predictions.species).
CREATE TABLE shadow_predictions (
    prediction_id   bigint           NOT NULL REFERENCES predictions (id) ON DELETE CASCADE,
    version         text             NOT NULL REFERENCES model_versions (version),
    species         text             NOT NULL CHECK (species IN ('Adelie', 'Chinstrap', 'Gentoo')),
    confidence      double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    scored_at       timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (version, prediction_id)
);

-- Feedback rows: the training data of retraining and the live accuracy per version.
CREATE INDEX predictions_feedback_idx ON predictions (id) INCLUDE (model_version, species, actual_species) WHERE actual_species IS NOT NULL;

-- Per shadowed version: how often it agreed with the answer given, and how each did on the feedback that came later.
CREATE VIEW shadow_evaluation AS
SELECT s.version,
       count(*)                                                                      AS scored,
       avg((s.species = p.species)::int)::double precision                           AS agreement,
       count(p.actual_species)                                                       AS with_feedback,
       (avg((s.species = p.actual_species)::int) FILTER (WHERE p.actual_species IS NOT NULL))::double precision AS shadow_accuracy,
       (avg((p.species = p.actual_species)::int) FILTER (WHERE p.actual_species IS NOT NULL))::double precision AS served_accuracy
FROM shadow_predictions s
JOIN predictions p ON p.id = s.prediction_id
GROUP BY s.version;

-- Per version that answered: feedback received and the share it got right.
CREATE VIEW model_live_accuracy AS
SELECT model_version                                           AS version,
       count(*)                                                AS with_feedback,
       count(*) FILTER (WHERE species = actual_species)        AS correct,
       (count(*) FILTER (WHERE species = actual_species))::double precision / count(*) AS accuracy
FROM predictions
WHERE actual_species IS NOT NULL
GROUP BY model_version;

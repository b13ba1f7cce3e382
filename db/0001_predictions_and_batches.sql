-- Predictions made by the app, the CSV batches some of them came from, and the lines of those batches that were rejected.
-- Named for psql inspection: \d predictions, SELECT * FROM daily_species_counts;

CREATE TABLE batches (
    id              uuid PRIMARY KEY,
    file_name       text        NOT NULL,
    extra_columns   text[]      NOT NULL DEFAULT '{}',
    accepted_rows   integer     NOT NULL CHECK (accepted_rows >= 0),
    rejected_rows   integer     NOT NULL CHECK (rejected_rows >= 0),
    model_version   text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE batch_rejections (
    batch_id    uuid    NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    line        integer NOT NULL,
    message     text    NOT NULL,
    PRIMARY KEY (batch_id, line)
);

CREATE TABLE predictions (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bill_length_mm          double precision NOT NULL,
    bill_depth_mm           double precision NOT NULL,
    flipper_length_mm       double precision NOT NULL,
    body_mass_g             double precision NOT NULL,
    species                 text             NOT NULL CHECK (species IN ('Adelie', 'Chinstrap', 'Gentoo')),
    confidence              double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    probability_adelie      double precision NOT NULL,
    probability_chinstrap   double precision NOT NULL,
    probability_gentoo      double precision NOT NULL,
    channel                 text             NOT NULL CHECK (channel IN ('form', 'api', 'batch')),
    model_version           text             NOT NULL,
    created_at              timestamptz      NOT NULL DEFAULT now(),
    batch_id                uuid             REFERENCES batches (id),
    batch_line              integer,
    batch_extra_values      text[],
    actual_species          text             CHECK (actual_species IN ('Adelie', 'Chinstrap', 'Gentoo')),
    feedback_at             timestamptz,
    CHECK ((batch_id IS NULL) = (channel <> 'batch')),
    CHECK ((actual_species IS NULL) = (feedback_at IS NULL))
);

CREATE INDEX predictions_species_id_idx ON predictions (species, id DESC);
CREATE INDEX predictions_channel_id_idx ON predictions (channel, id DESC);
CREATE INDEX predictions_batch_idx ON predictions (batch_id, batch_line) WHERE batch_id IS NOT NULL;

CREATE VIEW daily_species_counts AS
SELECT (created_at AT TIME ZONE 'UTC')::date                   AS day,
       species,
       count(*)                                                AS predictions,
       count(*) FILTER (WHERE channel = 'form')                AS via_form,
       count(*) FILTER (WHERE channel = 'api')                 AS via_api,
       count(*) FILTER (WHERE channel = 'batch')               AS via_batch,
       count(actual_species)                                   AS with_feedback,
       count(*) FILTER (WHERE actual_species = species)        AS correct
FROM predictions
GROUP BY 1, 2;

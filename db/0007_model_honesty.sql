-- Model honesty (issue 19): every prediction says whether its inputs were unlike the data its model was trained on,
-- judged against the training data of the version that served it, and calibration is read from feedback.
-- psql: SELECT id, species, confidence, ood_score, ood_features FROM predictions WHERE ood_features IS NOT NULL ORDER BY id DESC LIMIT 20;
--       SELECT * FROM model_calibration ORDER BY version, bucket;

-- Each version's training profile (range and spread of every measurement, species mix), recorded when it is
-- registered: what its predictions are judged against. NULL for versions registered before this migration; the app
-- then uses the base data's training split.
ALTER TABLE model_versions ADD COLUMN training_profile jsonb;

-- The out-of-distribution score of each prediction (largest distance of a measurement beyond the serving version's
-- training range, in training standard deviations; 0 inside it) and the measurements beyond the margin, as their
-- comma-separated column names (NULL when none: the prediction was in distribution). Both NULL for predictions made
-- before this migration, which were never judged. Stored, not recomputed: a prediction keeps the judgement of the
-- version that served it through promotions and rollbacks.
ALTER TABLE predictions
    ADD COLUMN ood_score double precision CHECK (ood_score >= 0),
    ADD COLUMN ood_features text CHECK (ood_features ~ '^[a-z_]+(,[a-z_]+)*$');

-- Reliability per version from feedback: predictions grouped by confidence in tenths (bucket 9 is 0.9–1.0), with their
-- mean confidence and the share that were right. A calibrated model has accuracy ≈ mean_confidence in every bucket;
-- the expected calibration error is the prediction-weighted mean of |accuracy − mean_confidence|.
CREATE VIEW model_calibration AS
SELECT model_version                                             AS version,
       least(floor(confidence * 10)::int, 9)                     AS bucket,
       count(*)                                                  AS predictions,
       avg(confidence)                                           AS mean_confidence,
       avg((species = actual_species)::int)::double precision    AS accuracy
FROM predictions
WHERE actual_species IS NOT NULL
GROUP BY 1, 2;

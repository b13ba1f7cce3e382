-- Idempotency keys of the API's writes (POST /api/predictions, feedback, batch upload): the first answer to a key is kept
-- so a retry with the same key and body gets it again instead of storing a second row. Kept in PostgreSQL so every
-- replica honours a key; expired keys are deleted by the app in bounded rounds.
-- psql: SELECT operation, key, status, created_at, expires_at FROM idempotency_keys ORDER BY created_at DESC LIMIT 10;

CREATE TABLE idempotency_keys (
    operation       text        NOT NULL,
    key             text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash    bytea       NOT NULL,
    status          integer,
    content_type    text,
    location        text,
    body            bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (operation, key),
    CHECK ((status IS NULL) = (body IS NULL))
);

CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

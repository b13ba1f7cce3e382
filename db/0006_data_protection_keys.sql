-- ASP.NET Data Protection's key ring (the keys that sign antiforgery tokens), kept here rather than in the container's
-- memory: a restart no longer invalidates the forms people have open, and every instance of the app shares one ring,
-- so a form rendered by one instance is accepted by another. One row per XML element (a key or a revocation).
CREATE TABLE data_protection_keys (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    friendly_name   text        NOT NULL UNIQUE,
    xml             text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

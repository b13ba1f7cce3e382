-- Alertmanager notifications received by POST /api/alerts (webhook payload version 4), one row per alert per status.
-- A resent notification (same fingerprint, start and status) is not stored twice.

CREATE TABLE alert_notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint     text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('firing', 'resolved')),
    alertname       text        NOT NULL,
    severity        text        NOT NULL,
    summary         text,
    description     text,
    runbook_url     text,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz,
    labels          jsonb       NOT NULL,
    annotations     jsonb       NOT NULL,
    receiver        text        NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (fingerprint, starts_at, status)
);

CREATE INDEX alert_notifications_received_idx ON alert_notifications (received_at DESC);

-- Alerts whose latest notification is 'firing': what is wrong right now.
CREATE VIEW firing_alerts AS
SELECT f.*
FROM alert_notifications f
WHERE f.status = 'firing'
  AND NOT EXISTS (SELECT 1 FROM alert_notifications r
                  WHERE r.fingerprint = f.fingerprint AND r.starts_at = f.starts_at AND r.status = 'resolved');

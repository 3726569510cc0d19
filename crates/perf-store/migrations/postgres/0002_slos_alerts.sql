-- Version 2: SLO definitions made over the API, and alert history.
CREATE TABLE IF NOT EXISTS slos (
    name          TEXT PRIMARY KEY,
    definition    TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_history (
    id       BIGSERIAL PRIMARY KEY,
    at_ms    BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    subject  TEXT NOT NULL,
    state    TEXT NOT NULL,
    payload  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_history_at ON alert_history (at_ms);

-- Version 4: JSON documents by kind (baselines, rollouts with their history).
CREATE TABLE IF NOT EXISTS documents (
    kind          TEXT NOT NULL,
    id            TEXT NOT NULL,
    service       TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS documents_by_service ON documents (kind, service, created_at_ms);

-- Version 1: metadata and the engine snapshot.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         BIGINT NOT NULL,
    taken_at_ms BIGINT NOT NULL,
    data        BYTEA NOT NULL
);

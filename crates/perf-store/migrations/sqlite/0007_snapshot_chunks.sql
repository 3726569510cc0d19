-- Version 7: the engine snapshot as chunks, each written in a short transaction of its own
-- (snapshot_chunks.rs says why). The snapshot row names the generation of chunks that make
-- it, and a row without one (written by version 6) holds its bytes in `data`.
CREATE TABLE IF NOT EXISTS snapshot_chunks (
    generation INTEGER NOT NULL,
    idx        INTEGER NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (generation, idx)
);
ALTER TABLE snapshot ADD COLUMN generation INTEGER;
ALTER TABLE snapshot ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;

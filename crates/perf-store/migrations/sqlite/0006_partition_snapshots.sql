-- Version 6: engine snapshots per partition of the cluster's ingest stream, each with the
-- stream sequence it includes and the lease epoch of the owner that wrote it (fencing: a
-- former owner's write is refused, see PARTITION_SNAPSHOT_SQL).
CREATE TABLE IF NOT EXISTS partition_snapshots (
    partition   INTEGER PRIMARY KEY,
    epoch       BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    taken_at_ms BIGINT NOT NULL,
    data        BLOB NOT NULL
);
-- The last state of one alert (kind, subject): a partition's new owner checks it before it
-- notifies, so an alert already firing is not announced again after a takeover.
CREATE INDEX IF NOT EXISTS alert_history_subject ON alert_history (kind, subject, id);

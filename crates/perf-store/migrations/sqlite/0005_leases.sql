-- Version 5: leases (the cluster's leader, later partition owners): who holds a name until
-- when, and an epoch that grows with every change of holder (fencing).
CREATE TABLE IF NOT EXISTS leases (
    name          TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    epoch         BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

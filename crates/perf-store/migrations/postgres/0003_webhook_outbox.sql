-- Version 3: alert notifications waiting for (or done with) delivery to webhook receivers.
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id              BIGSERIAL PRIMARY KEY,
    receiver        TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_at_ms      BIGINT NOT NULL,
    delivered_at_ms BIGINT,
    last_error      TEXT
);
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (delivered_at_ms, next_at_ms);

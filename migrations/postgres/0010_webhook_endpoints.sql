-- Webhooks to the merchant. An event is written in the same transaction as
-- the change it reports (the outbox), with one delivery per subscribed
-- endpoint; a worker on every app server sends due deliveries.
CREATE TABLE webhook_endpoints (
    id                     BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id              TEXT    NOT NULL UNIQUE,
    account_id             BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mode                   TEXT    NOT NULL,
    url                    TEXT    NOT NULL,
    -- " payment.captured payment.failed ": found with LIKE '% payment.captured %'.
    events                 TEXT    NOT NULL,
    -- Sealed with the server key (the merchant can reveal it; we must sign with it).
    secret_sealed          TEXT    NOT NULL,
    -- The secret before the last rotation, still signed with until then.
    previous_secret_sealed TEXT,
    previous_secret_until  BIGINT,
    created_at             BIGINT  NOT NULL,
    disabled_at            BIGINT
);
CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints (account_id, mode);

CREATE TABLE webhook_events (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- "evt_…": the receiver de-duplicates by it.
    public_id  TEXT    NOT NULL UNIQUE,
    account_id BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mode       TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    -- The exact body sent, frozen when the event happened.
    payload    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX webhook_events_by_age ON webhook_events (created_at);

CREATE TABLE webhook_deliveries (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         BIGINT  NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id      BIGINT  NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    status           TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    -- Pending: when it is due. A worker claims it by moving this past its
    -- lease, so a server killed mid-send leaves it due again, not lost.
    next_attempt_at  BIGINT  NOT NULL,
    give_up_at       BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    last_attempt_at  BIGINT,
    last_status_code BIGINT,
    last_latency_ms  BIGINT,
    last_error       TEXT,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);

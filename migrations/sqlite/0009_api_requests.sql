-- REST API bookkeeping: idempotent POSTs and per-key rate limits. Both live in
-- the database so every app server behind a load balancer agrees.

-- One row per Idempotency-Key a merchant (in one mode) has used in the last
-- 24 hours. `status_code` is NULL while the first request is still running.
CREATE TABLE api_idempotency (
    account_id    BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mode          TEXT    NOT NULL,
    idem_key      TEXT    NOT NULL,
    -- SHA-256 of method, path and body: the same key with another request is refused.
    request_hash  TEXT    NOT NULL,
    status_code   BIGINT,
    response_body TEXT,
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (account_id, mode, idem_key)
);
CREATE INDEX api_idempotency_by_age ON api_idempotency (created_at);

-- A fixed one-second window per key: one row per key, updated in place.
CREATE TABLE api_rate_windows (
    key_id       BIGINT  PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
    window_start BIGINT  NOT NULL,
    hits         BIGINT  NOT NULL
);

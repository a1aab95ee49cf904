-- Secret API keys for the merchant REST API (/api/v1), one set per mode.
-- The key itself is shown once at creation; only its SHA-256 is kept (the key
-- is 128+ random bits, so a fast hash is as good as a slow one here).
CREATE TABLE api_keys (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mode         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    -- "sk_test_AbCd…": enough to recognise a key in the list.
    prefix       TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_by_account ON api_keys (account_id, mode, id);

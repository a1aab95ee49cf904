-- Live mode: each merchant's KOMOJU credentials, sealed with the server key
-- (ChaCha20-Poly1305; the account and field are bound in as associated data,
-- so a sealed value cannot be moved to another account or field).
CREATE TABLE komoju_accounts (
    account_id         BIGINT  PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret_key_sealed  TEXT    NOT NULL,
    -- The last 4 characters, so the merchant recognizes which key is set.
    secret_key_hint    TEXT    NOT NULL,
    webhook_secret_sealed TEXT NOT NULL,
    updated_at         BIGINT  NOT NULL
);

-- The KOMOJU session behind a live attempt, and where the customer pays it.
ALTER TABLE payments ADD COLUMN provider_session TEXT;
ALTER TABLE payments ADD COLUMN provider_url TEXT;
CREATE INDEX payments_by_provider_session ON payments (provider_session) WHERE provider_session IS NOT NULL;
CREATE INDEX payments_by_provider_ref ON payments (provider_ref) WHERE provider_ref IS NOT NULL;

-- Each webhook delivery (X-Komoju-ID) is processed once.
CREATE TABLE komoju_webhook_deliveries (
    account_id   BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    delivery_id  TEXT    NOT NULL,
    event        TEXT    NOT NULL,
    received_at  BIGINT  NOT NULL,
    PRIMARY KEY (account_id, delivery_id)
);

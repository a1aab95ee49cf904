-- Account emails (src/server/account_email.rs): whether the address is
-- confirmed, and the one-time tokens of the links we email (address
-- confirmation, password reset), stored as SHA-256 hashes only.
ALTER TABLE accounts ADD COLUMN email_verified_at BIGINT;
CREATE TABLE account_tokens (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    token_hash  TEXT    NOT NULL UNIQUE,
    -- The address the token was sent to: a confirmation only counts for it.
    email       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
CREATE INDEX account_tokens_by_account ON account_tokens (account_id, purpose);

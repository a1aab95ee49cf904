-- Accounts: merchants (who sell) and reviewers (Paylinks staff).
CREATE TABLE accounts (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    -- Random, URL-safe handle for public pages (the merchant's SCTA page).
    public_id     TEXT    NOT NULL UNIQUE,
    business_name TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'merchant' CHECK (role IN ('merchant', 'reviewer')),
    locale        TEXT    NOT NULL CHECK (locale IN ('ja', 'en', 'ko')),
    mode          TEXT    NOT NULL DEFAULT 'test' CHECK (mode IN ('test', 'live')),
    created_at    BIGINT  NOT NULL
);

-- Server-side sessions; the cookie holds a token whose SHA-256 is the key.
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    account_id BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account_id);

-- Recent failed sign-ins, keyed 'email:…' or 'ip:…', for rate limiting.
CREATE TABLE signin_failures (
    id  BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT    NOT NULL,
    at  BIGINT  NOT NULL
);
CREATE INDEX signin_failures_by_key ON signin_failures (key, at);

-- The live-mode application, one per merchant; its approved SCTA disclosure
-- becomes the merchant's public 特定商取引法 page.
CREATE TABLE live_applications (
    account_id      BIGINT  PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'rejected')),
    legal_name      TEXT    NOT NULL DEFAULT '',
    representative  TEXT    NOT NULL DEFAULT '',
    address         TEXT    NOT NULL DEFAULT '',
    phone           TEXT    NOT NULL DEFAULT '',
    website         TEXT    NOT NULL DEFAULT '',
    products        TEXT    NOT NULL DEFAULT '',
    scta_seller     TEXT    NOT NULL DEFAULT '',
    scta_address    TEXT    NOT NULL DEFAULT '',
    scta_phone      TEXT    NOT NULL DEFAULT '',
    scta_pricing    TEXT    NOT NULL DEFAULT '',
    scta_fees       TEXT    NOT NULL DEFAULT '',
    scta_payment    TEXT    NOT NULL DEFAULT '',
    scta_delivery   TEXT    NOT NULL DEFAULT '',
    scta_returns    TEXT    NOT NULL DEFAULT '',
    reviewer_reason TEXT,
    submitted_at    BIGINT,
    reviewed_at     BIGINT,
    reviewed_by     BIGINT  REFERENCES accounts (id),
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX live_applications_queue ON live_applications (status, submitted_at);

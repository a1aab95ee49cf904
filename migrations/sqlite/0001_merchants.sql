-- Merchants: the accounts that own payment links.
CREATE TABLE merchants (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    business_name TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    locale        TEXT    NOT NULL CHECK (locale IN ('ja', 'en', 'ko')),
    created_at    BIGINT  NOT NULL
);

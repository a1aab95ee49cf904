-- Changing an account's email address (src/server/account_email.rs): a
-- one-time link to the new address confirms it; the old address is told at
-- once (with a link that cancels the change) and again once it is done.
-- And a sign-up with an address that has an account is told to that address
-- (sign_up_attempt), so the sign-up form answers alike for every address.
-- Both tables' CHECKs grow, which SQLite does by rebuilding them (the
-- triggers that write email_jobs are dropped first and made again, as in 0018).
CREATE TABLE account_tokens_new (
    id          INTEGER PRIMARY KEY,
    account_id  BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('verify_email', 'password_reset', 'email_change_confirm', 'email_change_requested')),
    token_hash  TEXT    NOT NULL UNIQUE,
    -- The address the token was sent to: a confirmation only counts for it
    -- (for a change: the new address; for its cancel link: the old one).
    email       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
INSERT INTO account_tokens_new SELECT * FROM account_tokens;
DROP TABLE account_tokens;
ALTER TABLE account_tokens_new RENAME TO account_tokens;
CREATE INDEX account_tokens_by_account ON account_tokens (account_id, purpose);

DROP TRIGGER payment_event_emails;
DROP TRIGGER payment_event_merchant_emails;
CREATE TABLE email_jobs_new (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    account_id      BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- The payment's mode; NULL for an email about the account itself.
    mode            TEXT,
    kind            TEXT    NOT NULL CHECK (kind IN ('receipt', 'konbini_instructions', 'refund_notice', 'verify_email', 'password_reset',
                                                     'payment_captured', 'chargeback_notice', 'application_decided', 'daily_summary', 'webhook_disabled',
                                                     'email_change_confirm', 'email_change_requested', 'email_changed', 'sign_up_attempt')),
    payment_id      BIGINT  REFERENCES payments (id),
    event_id        BIGINT  REFERENCES payment_events (id),
    created_at      BIGINT  NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    sent_at         BIGINT,
    last_error      TEXT,
    recipient       TEXT,
    subject         TEXT,
    text_body       TEXT,
    html_body       TEXT,
    locale          TEXT,
    token_sealed    TEXT
);
INSERT INTO email_jobs_new SELECT * FROM email_jobs;
DROP TABLE email_jobs;
ALTER TABLE email_jobs_new RENAME TO email_jobs;
CREATE INDEX email_jobs_due ON email_jobs (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX email_jobs_by_account ON email_jobs (account_id, mode, id DESC);

-- As in 0018, unchanged.
CREATE TRIGGER payment_event_emails
AFTER INSERT ON payment_events
WHEN NEW.kind IN ('captured', 'captured_late', 'refunded', 'authorized')
BEGIN
    INSERT OR IGNORE INTO email_jobs (dedupe_key, account_id, mode, kind, payment_id, event_id, created_at, next_attempt_at)
    SELECT e.kind || ':' || NEW.id, p.account_id, p.mode, e.kind, p.id, NEW.id, NEW.created_at, NEW.created_at
    FROM payments p,
         (SELECT CASE NEW.kind WHEN 'refunded' THEN 'refund_notice' WHEN 'authorized' THEN 'konbini_instructions' ELSE 'receipt' END AS kind) e
    WHERE p.id = NEW.payment_id AND p.customer_email IS NOT NULL AND (NEW.kind <> 'authorized' OR p.method = 'konbini');
END;

CREATE TRIGGER payment_event_merchant_emails
AFTER INSERT ON payment_events
WHEN NEW.kind IN ('captured', 'captured_late', 'charged_back')
BEGIN
    INSERT OR IGNORE INTO email_jobs (dedupe_key, account_id, mode, kind, payment_id, event_id, created_at, next_attempt_at)
    SELECT e.kind || ':' || NEW.id, p.account_id, p.mode, e.kind, p.id, NEW.id, NEW.created_at, NEW.created_at
    FROM payments p JOIN accounts a ON a.id = p.account_id JOIN links l ON l.id = p.link_id,
         (SELECT CASE NEW.kind WHEN 'charged_back' THEN 'chargeback_notice' ELSE 'payment_captured' END AS kind) e
    WHERE p.id = NEW.payment_id AND (e.kind = 'chargeback_notice' OR (a.payment_emails = 'each' AND l.payment_emails = 1));
END;

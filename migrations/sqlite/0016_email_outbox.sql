-- Emails to customers (receipt, konbini instructions, refund notice) and to
-- account holders (address confirmation, password reset): a job per email, written by the database itself in the transaction of the payment
-- event it reports, so every writer of events (the checkout's one-statement
-- path, group commit, transitions) queues it and a crash loses none. The
-- worker renders the email when it sends it (the same bytes on every try:
-- its Message-ID is the job's) and keeps what it sent for the merchant's log.
CREATE TABLE email_jobs (
    id              INTEGER PRIMARY KEY,
    -- One email per event and kind, e.g. "receipt:1234": never two for one event.
    dedupe_key      TEXT    NOT NULL UNIQUE,
    account_id      BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- The payment's mode; NULL for an email about the account itself.
    mode            TEXT,
    kind            TEXT    NOT NULL CHECK (kind IN ('receipt', 'konbini_instructions', 'refund_notice', 'verify_email', 'password_reset')),
    payment_id      BIGINT  REFERENCES payments (id),
    event_id        BIGINT  REFERENCES payment_events (id),
    created_at      BIGINT  NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    -- NULL once sent or given up.
    next_attempt_at BIGINT,
    -- A worker holds the job until then (a crashed worker's job comes back).
    lease_until     BIGINT,
    sent_at         BIGINT,
    last_error      TEXT,
    -- What was sent (or tried): the merchant's delivery log and the dev mailbox.
    recipient       TEXT,
    subject         TEXT,
    text_body       TEXT,
    html_body       TEXT,
    -- Account emails: their language, and the link's one-time token sealed
    -- with the server's secret key (the database alone never holds a usable
    -- token); cleared once the email is sent or given up.
    locale          TEXT,
    token_sealed    TEXT
);
CREATE INDEX email_jobs_due ON email_jobs (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX email_jobs_by_account ON email_jobs (account_id, mode, id DESC);

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

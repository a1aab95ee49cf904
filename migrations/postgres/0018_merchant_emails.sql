-- Emails to merchants (src/server/email/notify.rs): "payment captured" (per
-- link opt-out, or one daily summary per account instead), chargeback
-- notices, the live-mode application's decision, and a webhook endpoint
-- turned off. Account emails' bodies still are never kept.
ALTER TABLE accounts ADD COLUMN payment_emails TEXT NOT NULL DEFAULT 'each' CHECK (payment_emails IN ('each', 'daily', 'off'));
-- 1/0, as every flag here (the Any driver reads no SQLite BOOLEAN).
ALTER TABLE links ADD COLUMN payment_emails BIGINT NOT NULL DEFAULT 1;

ALTER TABLE email_jobs DROP CONSTRAINT email_jobs_kind_check;
ALTER TABLE email_jobs ADD CONSTRAINT email_jobs_kind_check CHECK (kind IN ('receipt', 'konbini_instructions', 'refund_notice', 'verify_email', 'password_reset',
    'payment_captured', 'chargeback_notice', 'application_decided', 'daily_summary', 'webhook_disabled'));

-- The merchant's: every chargeback; a capture unless the account chose a
-- daily summary (or nothing) or muted the link.
CREATE FUNCTION payment_event_merchant_emails() RETURNS trigger AS $$
DECLARE
    job TEXT := CASE NEW.kind WHEN 'charged_back' THEN 'chargeback_notice' ELSE 'payment_captured' END;
BEGIN
    INSERT INTO email_jobs (dedupe_key, account_id, mode, kind, payment_id, event_id, created_at, next_attempt_at)
    SELECT job || ':' || NEW.id, p.account_id, p.mode, job, p.id, NEW.id, NEW.created_at, NEW.created_at
    FROM payments p JOIN accounts a ON a.id = p.account_id JOIN links l ON l.id = p.link_id
    WHERE p.id = NEW.payment_id AND (job = 'chargeback_notice' OR (a.payment_emails = 'each' AND l.payment_emails = 1))
    ON CONFLICT (dedupe_key) DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payment_event_merchant_emails
AFTER INSERT ON payment_events
FOR EACH ROW WHEN (NEW.kind IN ('captured', 'captured_late', 'charged_back'))
EXECUTE FUNCTION payment_event_merchant_emails();

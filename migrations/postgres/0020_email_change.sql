-- Changing an account's email address (src/server/account_email.rs): a
-- one-time link to the new address confirms it; the old address is told at
-- once (with a link that cancels the change) and again once it is done.
-- And a sign-up with an address that has an account is told to that address
-- (sign_up_attempt), so the sign-up form answers alike for every address.
ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'password_reset', 'email_change_confirm', 'email_change_requested'));

ALTER TABLE email_jobs DROP CONSTRAINT email_jobs_kind_check;
ALTER TABLE email_jobs ADD CONSTRAINT email_jobs_kind_check CHECK (kind IN ('receipt', 'konbini_instructions', 'refund_notice', 'verify_email', 'password_reset',
    'payment_captured', 'chargeback_notice', 'application_decided', 'daily_summary', 'webhook_disabled',
    'email_change_confirm', 'email_change_requested', 'email_changed', 'sign_up_attempt'));

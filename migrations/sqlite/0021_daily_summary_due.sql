-- When each account's next daily summary is due (UTC ms; NULL: work it out
-- on the next round). The scheduler reads only accounts whose morning has
-- come instead of every account each minute.
ALTER TABLE accounts ADD COLUMN daily_summary_due_at BIGINT;
CREATE INDEX accounts_daily_summary_due ON accounts (daily_summary_due_at) WHERE payment_emails = 'daily';

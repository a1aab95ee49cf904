-- An endpoint whose deliveries failed for a whole retry window (24 h, with
-- no success meanwhile) is turned off: no new events are queued for it and
-- its pending ones wait, until the merchant turns it back on. (disabled_at
-- still means removed.) The merchant is told by email (kind webhook_disabled).
ALTER TABLE webhook_endpoints ADD COLUMN turned_off_at BIGINT;

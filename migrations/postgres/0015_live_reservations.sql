-- Live oversell (issue 25, item 7).
-- A live attempt on a link with a usage limit reserves a unit while its
-- KOMOJU session is open: links.reserved_count counts the open ones
-- (payments.holds_unit marks them), so captured + reserved never exceeds the
-- limit and a unit comes back when the attempt ends without a capture.
ALTER TABLE links ADD COLUMN reserved_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN holds_unit BIGINT NOT NULL DEFAULT 0;
-- A capture KOMOJU settled that the link would not have taken (inactive,
-- expired, limit reached): why, and when the automatic refund is next tried
-- (NULL: done, or left to the merchant after it failed).
ALTER TABLE payments ADD COLUMN unwanted TEXT;
ALTER TABLE payments ADD COLUMN auto_refund_tries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN auto_refund_next_at BIGINT;
CREATE INDEX payments_auto_refund_due ON payments (auto_refund_next_at) WHERE auto_refund_next_at IS NOT NULL;
-- Live attempts past their KOMOJU session's lifetime are ended locally.
CREATE INDEX payments_live_open ON payments (deadline_at) WHERE method = 'komoju' AND status = 'pending';

-- Money KOMOJU moved after we had given up on the attempt (ended locally at
-- the session's lifetime) is recorded, never hidden: live payments may go
-- from failed / expired / cancelled to captured. Test payments still may not.
CREATE OR REPLACE FUNCTION payments_legal_transitions() RETURNS trigger AS $$
BEGIN
    IF NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency OR NEW.link_id <> OLD.link_id
       OR NEW.refunded_amount < OLD.refunded_amount
       OR (NEW.refunded_amount <> OLD.refunded_amount AND OLD.status <> 'captured')
       OR (NEW.status <> OLD.status AND NOT (
            (OLD.status = 'pending' AND NEW.status IN ('authorized', 'captured', 'failed', 'expired', 'cancelled'))
         OR (OLD.status = 'authorized' AND NEW.status IN ('captured', 'failed', 'expired', 'cancelled'))
         OR (OLD.status = 'captured' AND NEW.status IN ('refunded', 'charged_back'))
         OR (OLD.status IN ('failed', 'expired', 'cancelled') AND NEW.status = 'captured' AND OLD.mode = 'live'))) THEN
        RAISE EXCEPTION 'illegal payment transition % -> %', OLD.status, NEW.status;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

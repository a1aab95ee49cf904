-- Payment attempts. An attempt starts at the customer's first submit; its
-- idempotency token (rendered into the checkout form) makes a repeated submit
-- find the same row instead of starting another one.
CREATE TABLE payments (
    id                BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id         TEXT    NOT NULL UNIQUE,
    link_id           BIGINT  NOT NULL REFERENCES links (id),
    account_id        BIGINT  NOT NULL REFERENCES accounts (id),
    mode              TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    idempotency_token TEXT    NOT NULL UNIQUE,
    method            TEXT    NOT NULL CHECK (method IN ('card', 'konbini', 'paypay', 'komoju')),
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'authorized', 'captured', 'refunded',
                                                         'failed', 'expired', 'cancelled', 'charged_back')),
    amount            BIGINT  NOT NULL CHECK (amount > 0),
    currency          TEXT    NOT NULL,
    refunded_amount   BIGINT  NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    locale            TEXT    NOT NULL,
    customer_email    TEXT,
    customer_name     TEXT,
    -- Of a card only brand, last 4 digits and expiry are ever kept.
    card_brand        TEXT,
    card_last4        TEXT,
    card_expiry       TEXT,
    konbini_store     TEXT,
    konbini_number    TEXT,
    failure_reason    TEXT,
    -- The provider's reference (KOMOJU session / payment id) in live mode.
    provider_ref      TEXT,
    deadline_at       BIGINT  NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    captured_at       BIGINT
);
CREATE INDEX payments_by_link ON payments (link_id, created_at DESC, id DESC);
CREATE INDEX payments_list ON payments (account_id, mode, created_at DESC, id DESC);
-- The expiry job's scan: only open attempts are indexed.
CREATE INDEX payments_open_by_deadline ON payments (deadline_at) WHERE status IN ('pending', 'authorized');

-- Only the state machine's transitions; refunds only ever grow.
CREATE FUNCTION payments_legal_transitions() RETURNS trigger AS $$
BEGIN
    IF NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency OR NEW.link_id <> OLD.link_id
       OR NEW.refunded_amount < OLD.refunded_amount
       OR (NEW.refunded_amount <> OLD.refunded_amount AND OLD.status <> 'captured')
       OR (NEW.status <> OLD.status AND NOT (
            (OLD.status = 'pending' AND NEW.status IN ('authorized', 'captured', 'failed', 'expired', 'cancelled'))
         OR (OLD.status = 'authorized' AND NEW.status IN ('captured', 'failed', 'expired', 'cancelled'))
         OR (OLD.status = 'captured' AND NEW.status IN ('refunded', 'charged_back')))) THEN
        RAISE EXCEPTION 'illegal payment transition % -> %', OLD.status, NEW.status;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payments_legal_transitions
BEFORE UPDATE ON payments
FOR EACH ROW EXECUTE FUNCTION payments_legal_transitions();

CREATE FUNCTION refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows cannot be changed this way (%)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payments_are_never_deleted
BEFORE DELETE ON payments
FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Append-only history of every transition.
CREATE TABLE payment_events (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id  BIGINT  NOT NULL REFERENCES payments (id),
    kind        TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    amount      BIGINT,
    detail      TEXT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX payment_events_by_payment ON payment_events (payment_id, id);

CREATE TRIGGER payment_events_append_only
BEFORE UPDATE OR DELETE ON payment_events
FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The Total Sales Summary, kept current in each transition's transaction.
-- (links.captured_count stays the usage-limit counter: payments ever captured.)
ALTER TABLE links ADD COLUMN sales_captured_amount   BIGINT NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN sales_captured_payments BIGINT NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN sales_pending_payments  BIGINT NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN sales_refunded_payments BIGINT NOT NULL DEFAULT 0;

-- Payment links. Amount and currency never change after creation (trigger).
CREATE TABLE links (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id     BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mode           TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    slug           TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    -- NFKC + case-folded name: unique per merchant and mode.
    name_key       TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    amount         BIGINT  NOT NULL CHECK (amount > 0),
    currency       TEXT    NOT NULL CHECK (currency IN ('JPY', 'USD', 'EUR', 'KRW', 'TWD')),
    language       TEXT    NOT NULL CHECK (language IN ('ja', 'en', 'ko')),
    status         TEXT    NOT NULL CHECK (status IN ('active', 'inactive')),
    usage_limit    BIGINT  CHECK (usage_limit > 0),
    expires_at     BIGINT,
    captured_count BIGINT  NOT NULL DEFAULT 0 CHECK (captured_count >= 0),
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE UNIQUE INDEX links_name_per_merchant_and_mode ON links (account_id, mode, name_key);
-- The dashboard list: newest first, keyset-paginated on (created_at, id).
CREATE INDEX links_list ON links (account_id, mode, created_at DESC, id DESC);

CREATE FUNCTION links_amount_is_immutable() RETURNS trigger AS $$
BEGIN
    IF NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency THEN
        RAISE EXCEPTION 'amount and currency of a payment link cannot change';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER links_amount_is_immutable
BEFORE UPDATE OF amount, currency ON links
FOR EACH ROW EXECUTE FUNCTION links_amount_is_immutable();

-- A link's figures, spread over a few rows so that concurrent payments of one
-- link update different rows instead of queueing on the link's row lock until
-- each commit (shard = payment id mod 16). A figure is the sum of its link's
-- shards; the usage count also adds links.captured_count, where captures of a
-- link with a usage limit are counted (they must take turns to hold the limit).
CREATE TABLE link_counters (
    link_id                 BIGINT NOT NULL REFERENCES links (id),
    shard                   BIGINT NOT NULL,
    captured_count          BIGINT NOT NULL DEFAULT 0,
    sales_captured_amount   BIGINT NOT NULL DEFAULT 0,
    sales_captured_payments BIGINT NOT NULL DEFAULT 0,
    sales_pending_payments  BIGINT NOT NULL DEFAULT 0,
    sales_refunded_payments BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, shard)
);

INSERT INTO link_counters (link_id, shard, sales_captured_amount, sales_captured_payments, sales_pending_payments, sales_refunded_payments)
SELECT id, 0, sales_captured_amount, sales_captured_payments, sales_pending_payments, sales_refunded_payments FROM links;

ALTER TABLE links DROP COLUMN sales_captured_amount;
ALTER TABLE links DROP COLUMN sales_captured_payments;
ALTER TABLE links DROP COLUMN sales_pending_payments;
ALTER TABLE links DROP COLUMN sales_refunded_payments;

-- The chart's days, sharded the same way.
CREATE TABLE link_daily_shards (
    link_id BIGINT NOT NULL REFERENCES links (id),
    day     BIGINT NOT NULL,
    shard   BIGINT NOT NULL,
    amount  BIGINT NOT NULL,
    PRIMARY KEY (link_id, day, shard)
);

INSERT INTO link_daily_shards (link_id, day, shard, amount) SELECT link_id, day, 0, amount FROM link_daily_sales;
DROP TABLE link_daily_sales;

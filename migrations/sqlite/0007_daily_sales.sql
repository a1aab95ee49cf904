-- The link page's 30-day chart, kept per day in each transition's transaction
-- (reading it costs 30 rows, however many payments the link has).
-- day: days since 1970-01-01 in Japan time (UTC+9), the day of the capture.
-- amount: captured minus refunded of that day's captures, charged back excluded.
CREATE TABLE link_daily_sales (
    link_id BIGINT NOT NULL REFERENCES links (id),
    day     BIGINT NOT NULL,
    amount  BIGINT NOT NULL,
    PRIMARY KEY (link_id, day)
);

INSERT INTO link_daily_sales (link_id, day, amount)
SELECT link_id, (captured_at + 32400000) / 86400000, SUM(amount - refunded_amount)
FROM payments
WHERE captured_at IS NOT NULL AND status IN ('captured', 'refunded')
GROUP BY link_id, (captured_at + 32400000) / 86400000;

-- The chart no longer reads payments by capture time.
DROP INDEX payments_captured_by_link;

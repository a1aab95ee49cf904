-- The webhook worker takes each endpoint's oldest due delivery (one at a time
-- per endpoint, see merchant_webhooks/delivery.rs): find it without walking
-- the endpoint's delivered history.
CREATE INDEX webhook_deliveries_due_by_endpoint ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';

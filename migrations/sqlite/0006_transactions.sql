-- The Transactions page: each filter walks an index in the list's order
-- (created_at, id descending), so keyset pages cost the same at any depth.
CREATE INDEX payments_list_by_status ON payments (account_id, mode, status, created_at DESC, id DESC);
CREATE INDEX payments_list_by_method ON payments (account_id, mode, method, created_at DESC, id DESC);
-- The summary chart: a link's payments captured in the last days.
CREATE INDEX payments_captured_by_link ON payments (link_id, captured_at) WHERE captured_at IS NOT NULL;

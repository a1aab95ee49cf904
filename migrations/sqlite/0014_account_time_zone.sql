-- The merchant's time zone (IANA name, one of domain::time_zone::TimeZone):
-- the dashboard, its date filters and the CSV export use it.
ALTER TABLE accounts ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Asia/Tokyo';

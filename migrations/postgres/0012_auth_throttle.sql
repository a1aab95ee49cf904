-- Attempt limits for the account forms (src/server/throttle.rs): one row per
-- key (`signin:ip|email`, `signin-ip:ip`, `signup:ip`, `password:ip`), updated
-- in place by a single statement that counts and checks at once.
CREATE TABLE auth_throttle (
    key           TEXT    PRIMARY KEY,
    -- Start of the fixed window (limits) or of the series of guesses (back-off).
    window_start  BIGINT  NOT NULL,
    attempts      BIGINT  NOT NULL,
    -- No further guess before this time (back-off keys; 0 for window keys).
    blocked_until BIGINT  NOT NULL
);

-- Replaced by auth_throttle: failures were counted after verifying, so
-- parallel guesses all passed the check.
DROP TABLE signin_failures;

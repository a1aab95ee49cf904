//! Attempt limits for the account forms, counted in the database so every app
//! server agrees. Each attempt is counted *before* the work it guards (a
//! password hash), in the same statement that checks the limit: parallel
//! attempts cannot all slip under it.
//!
//! Two kinds: a fixed window per key (sign-ups and password changes per client
//! address, sign-in attempts per address), and an exponential back-off per
//! client address and email for sign-in guesses. The back-off is per address
//! on purpose: a stranger guessing a merchant's password slows only their own
//! address down, never locks the merchant out.

use super::db::{now_ms, Db};
use crate::error::{AppError, AppResult};

/// At most `max` attempts per `window_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max: i64,
    pub window_ms: i64,
}

pub const MINUTE_MS: i64 = 60 * 1000;
/// Sign-in attempts from one client address.
pub const SIGN_IN_PER_ADDRESS: Limit = Limit { max: 20, window_ms: 15 * MINUTE_MS };
/// Password changes (each verifies and hashes) from one client address.
pub const PASSWORD_CHANGES_PER_ADDRESS: Limit = Limit { max: 10, window_ms: 15 * MINUTE_MS };
/// Password-reset requests from one client address.
pub const RESETS_PER_ADDRESS: Limit = Limit { max: 10, window_ms: 60 * MINUTE_MS };
/// Reset (or confirmation) emails to one address: no one floods a mailbox.
pub const RESETS_PER_EMAIL: Limit = Limit { max: 3, window_ms: 60 * MINUTE_MS };

/// Failed sign-ins of one address and email before each further attempt waits.
pub const FREE_GUESSES: i64 = 5;
/// The wait after the last free guess.
const FIRST_WAIT_MS: i64 = 30 * 1000;
/// The longest wait between guesses.
pub const MAX_BACKOFF_MS: i64 = 15 * MINUTE_MS;
/// A series of guesses is forgotten a day after its last guess: waiting out
/// the longest wait does not buy a fresh set of free guesses.
const SERIES_IDLE_MS: i64 = 24 * 60 * MINUTE_MS;

/// How long attempt number `n` of a series makes the next one wait: nothing
/// for the first four, then 30 s after the fifth, 1 min, 2 min … up to
/// [`MAX_BACKOFF_MS`].
pub fn backoff_ms(n: i64) -> i64 {
    if n < FREE_GUESSES {
        return 0;
    }
    let doublings = (n - FREE_GUESSES).min(20) as u32;
    (FIRST_WAIT_MS << doublings).min(MAX_BACKOFF_MS)
}

/// [`backoff_ms`] as SQL over the expression `n` (both backends, no POWER()).
fn backoff_sql(n: &str) -> String {
    let mut sql = format!("CASE WHEN {n} < {FREE_GUESSES} THEN 0");
    let mut k = FREE_GUESSES;
    while backoff_ms(k) < MAX_BACKOFF_MS {
        sql.push_str(&format!(" WHEN {n} = {k} THEN {}", backoff_ms(k)));
        k += 1;
    }
    sql.push_str(&format!(" ELSE {MAX_BACKOFF_MS} END"));
    sql
}

fn refused(wait_ms: i64) -> AppError {
    AppError::RateLimited { retry_after_secs: ((wait_ms.max(1) + 999) / 1000) as u32 }
}

/// Counts one attempt under `key`; refused (nothing else done) past the limit.
pub async fn take(db: &Db, key: &str, limit: Limit) -> AppResult<()> {
    let now = now_ms();
    // One row per key, restarted when its window is over. Every expression in
    // SET sees the row as it was, so both CASEs compare the old window.
    let (attempts, window_start): (i64, i64) = sqlx::query_as(
        "INSERT INTO auth_throttle (key, window_start, attempts, blocked_until) VALUES ($1, $2, 1, 0) \
         ON CONFLICT (key) DO UPDATE SET \
           attempts = CASE WHEN auth_throttle.window_start > $3 THEN auth_throttle.attempts + 1 ELSE 1 END, \
           window_start = CASE WHEN auth_throttle.window_start > $3 THEN auth_throttle.window_start ELSE excluded.window_start END \
         RETURNING attempts, window_start",
    )
    .bind(key.to_owned())
    .bind(now)
    .bind(now - limit.window_ms)
    .fetch_one(db.pool())
    .await?;
    if attempts > limit.max {
        return Err(refused(window_start + limit.window_ms - now));
    }
    Ok(())
}

/// Gives back an attempt that succeeded (a right password is not a guess).
pub async fn give_back(db: &Db, key: &str) -> AppResult<()> {
    sqlx::query("UPDATE auth_throttle SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0").bind(key.to_owned()).execute(db.pool()).await?;
    Ok(())
}

/// Counts one guess under `key` unless the key is still waiting; the wait
/// after it grows with every guess of the series ([`backoff_ms`]).
pub async fn back_off(db: &Db, key: &str) -> AppResult<()> {
    let now = now_ms();
    // `window_start` is the series' last guess; a free guess leaves no wait
    // (0, not "now": another request's clock may be a hair behind).
    let n = "(CASE WHEN auth_throttle.window_start > $3 THEN auth_throttle.attempts + 1 ELSE 1 END)";
    let sql = format!(
        "INSERT INTO auth_throttle (key, window_start, attempts, blocked_until) VALUES ($1, $2, 1, 0) \
         ON CONFLICT (key) DO UPDATE SET attempts = {n}, window_start = $2, \
           blocked_until = CASE WHEN {n} < {FREE_GUESSES} THEN 0 ELSE $2 + {wait} END \
         WHERE auth_throttle.blocked_until <= $2 \
         RETURNING attempts",
        wait = backoff_sql(n),
    );
    debug_assert_eq!(backoff_ms(1), 0, "the first guess never waits");
    let taken = sqlx::query(&sql).bind(key.to_owned()).bind(now).bind(now - SERIES_IDLE_MS).fetch_optional(db.pool()).await?;
    if taken.is_some() {
        return Ok(());
    }
    let blocked_until: i64 =
        sqlx::query_scalar("SELECT blocked_until FROM auth_throttle WHERE key = $1").bind(key.to_owned()).fetch_optional(db.pool()).await?.unwrap_or(now);
    Err(refused(blocked_until - now))
}

/// Forgets `key` (a right password ends the series of guesses).
pub async fn clear(db: &Db, key: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM auth_throttle WHERE key = $1").bind(key.to_owned()).execute(db.pool()).await?;
    Ok(())
}

/// Drops rows nobody needs any more (their window and wait are long over).
pub async fn purge(db: &Db) -> AppResult<u64> {
    let horizon = now_ms() - 24 * 60 * MINUTE_MS;
    let done = sqlx::query("DELETE FROM auth_throttle WHERE window_start < $1 AND blocked_until < $1").bind(horizon).execute(db.pool()).await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_wait_longer_and_longer() {
        let waits: Vec<i64> = (1..=8).map(backoff_ms).collect();
        assert_eq!(waits, [0, 0, 0, 0, 30_000, 60_000, 120_000, 240_000]);
        assert_eq!(backoff_ms(100), MAX_BACKOFF_MS, "capped");
        assert_eq!(backoff_ms(i64::MAX), MAX_BACKOFF_MS, "no overflow");
    }

    #[test]
    fn the_sql_backoff_is_the_same_rule() {
        let sql = backoff_sql("n");
        assert!(sql.starts_with("CASE WHEN n < 5 THEN 0 WHEN n = 5 THEN 30000 WHEN n = 6 THEN 60000"), "{sql}");
        assert!(sql.ends_with(&format!("ELSE {MAX_BACKOFF_MS} END")), "{sql}");
        // Every listed step agrees with backoff_ms.
        for step in sql.split(" WHEN n = ").skip(1) {
            let (k, rest) = step.split_once(" THEN ").unwrap();
            let wait: i64 = rest.split_whitespace().next().unwrap().parse().unwrap();
            assert_eq!(wait, backoff_ms(k.parse().unwrap()), "{step}");
        }
    }
}

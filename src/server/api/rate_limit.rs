//! Per-key rate limiting: a fixed one-second window counted in the database,
//! so the limit holds however many app servers share it.

use crate::error::AppResult;
use crate::server::db::{now_ms, Db};
use axum::http::{HeaderMap, HeaderValue};

const WINDOW_MS: i64 = 1_000;

/// Where a key stands in the current window after this request.
pub struct Window {
    pub limit: u32,
    hits: i64,
    /// Milliseconds until the window resets.
    resets_in_ms: i64,
}

impl Window {
    pub fn allowed(&self) -> bool {
        self.hits <= i64::from(self.limit)
    }

    /// `Retry-After` when refused, and the draft-standard `RateLimit-*`
    /// headers on every answer so clients can pace themselves.
    pub fn annotate(&self, headers: &mut HeaderMap) {
        let remaining = (i64::from(self.limit) - self.hits).max(0);
        // Whole seconds, rounded up: never "retry after 0".
        let reset_secs = ((self.resets_in_ms + 999) / 1000).max(1);
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(reset_secs));
        if !self.allowed() {
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from(reset_secs));
        }
    }
}

/// Counts one request for `key_id`.
pub async fn hit(db: &Db, key_id: i64, limit: u32) -> AppResult<Window> {
    let now = now_ms();
    let window_start = now - now.rem_euclid(WINDOW_MS);
    // One row per key, restarted when a new window begins. Every expression
    // in SET sees the row as it was, so the CASE compares the old window.
    let hits: i64 = sqlx::query_scalar(
        "INSERT INTO api_rate_windows (key_id, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (key_id) DO UPDATE SET \
           hits = CASE WHEN api_rate_windows.window_start = excluded.window_start THEN api_rate_windows.hits + 1 ELSE 1 END, \
           window_start = excluded.window_start \
         RETURNING hits",
    )
    .bind(key_id)
    .bind(window_start)
    .fetch_one(db.pool())
    .await?;
    Ok(Window { limit, hits, resets_in_ms: window_start + WINDOW_MS - now })
}

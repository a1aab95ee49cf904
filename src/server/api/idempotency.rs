//! `Idempotency-Key` on POST: the first request with a key runs and its answer
//! is kept for 24 hours; the same key with the same request replays that
//! answer, with another request it is refused (422), and while the first is
//! still running a duplicate is refused (409) rather than run twice.

use super::ApiError;
use crate::error::{AppError, AppResult};
use crate::server::auth::Account;
use crate::server::db::{now_ms, Db};
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// How long an answer is kept for replay.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// A first request still unanswered after this long was cut off (the server
/// stopped mid-request): its outcome is unknown, so it is not run again.
const ABANDONED_AFTER_MS: i64 = 60 * 1000;
const MAX_KEY_LEN: usize = 255;
/// API bodies are small JSON; this is the forms' limit.
const MAX_BODY: usize = 256 * 1024;
/// Marks an answer replayed from the store.
const REPLAYED: http::HeaderName = http::HeaderName::from_static("idempotent-replayed");

/// What the store holds for a key.
enum Claim {
    /// The key is new: this request runs.
    Ours,
    /// Freed between our insert and our read: try again.
    Released,
    Taken {
        request_hash: String,
        answer: Option<(u16, String)>,
        created_at: i64,
    },
}

pub async fn run(db: &Db, account: &Account, key: &HeaderValue, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match run_checked(db, account, key, request, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn run_checked(
    db: &Db,
    account: &Account,
    key: &HeaderValue,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<Response, ApiError> {
    let key = key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| ApiError::bad_request("idempotency_key_invalid", "Idempotency-Key is 1 to 255 visible ASCII characters, e.g. a UUID."))?;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| ApiError::from(AppError::TooLarge))?;
    let request_hash = fingerprint(parts.method.as_str(), &parts.uri.to_string(), &body);

    // Twice at most: a key older than the retention period is removed and claimed anew.
    for _ in 0..2 {
        let now = now_ms();
        match claim(db, account, key, &request_hash, now).await? {
            Claim::Released => {}
            Claim::Ours => {
                let response = next.run(axum::extract::Request::from_parts(parts, Body::from(body))).await;
                return Ok(keep(db, account, key, response).await);
            }
            Claim::Taken { created_at, .. } if created_at < now - RETENTION_MS => {
                release(db, account, key, Some(created_at)).await?;
            }
            Claim::Taken { request_hash: first, .. } if first != request_hash => {
                return Err(conflict(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used with a different request. Use a new key for a new request.",
                ));
            }
            Claim::Taken { answer: Some((status, body)), .. } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                return Ok((status, [(http::header::CONTENT_TYPE, "application/json"), (REPLAYED, "true")], body).into_response());
            }
            Claim::Taken { answer: None, created_at, .. } if created_at < now - ABANDONED_AFTER_MS => {
                return Err(conflict(
                    StatusCode::CONFLICT,
                    "idempotency_request_interrupted",
                    "The first request with this Idempotency-Key was interrupted and its outcome is unknown. \
                     Look the object up, then retry with a new key if needed.",
                ));
            }
            Claim::Taken { answer: None, .. } => {
                return Err(conflict(
                    StatusCode::CONFLICT,
                    "idempotency_request_in_progress",
                    "A request with this Idempotency-Key is still in progress. Retry in a moment to get its answer.",
                ));
            }
        }
    }
    Err(AppError::Internal.into())
}

fn conflict(status: StatusCode, code: &str, message: &str) -> ApiError {
    ApiError { param: None, ..ApiError::new(status, "idempotency_error", code, message) }
}

/// SHA-256 of what makes two requests "the same".
fn fingerprint(method: &str, uri: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b"\n");
    hash.update(uri.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hex::encode(hash.finalize())
}

async fn claim(db: &Db, account: &Account, key: &str, request_hash: &str, now: i64) -> AppResult<Claim> {
    let inserted = sqlx::query(
        "INSERT INTO api_idempotency (account_id, mode, idem_key, request_hash, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id, mode, idem_key) DO NOTHING",
    )
    .bind(account.id)
    .bind(account.mode.as_str())
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .execute(db.pool())
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Ours);
    }
    let row: Option<(String, Option<i64>, Option<String>, i64)> = sqlx::query_as(
        "SELECT request_hash, status_code, response_body, created_at FROM api_idempotency \
         WHERE account_id = $1 AND mode = $2 AND idem_key = $3",
    )
    .bind(account.id)
    .bind(account.mode.as_str())
    .bind(key)
    .fetch_optional(db.pool())
    .await?;
    let Some((request_hash, status, body, created_at)) = row else { return Ok(Claim::Released) };
    Ok(Claim::Taken { request_hash, answer: status.zip(body).map(|(s, b)| (s as u16, b)), created_at })
}

/// Keeps the answer for replay, except a server error: nothing took effect
/// (the work rolled back), so the key is freed for a retry.
async fn keep(db: &Db, account: &Account, key: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        let _ = release(db, account, key, None).await;
        return ApiError::from(AppError::Internal).into_response();
    };
    let stored = if parts.status.is_server_error() {
        release(db, account, key, None).await
    } else {
        sqlx::query("UPDATE api_idempotency SET status_code = $1, response_body = $2 WHERE account_id = $3 AND mode = $4 AND idem_key = $5")
            .bind(i64::from(parts.status.as_u16()))
            .bind(String::from_utf8_lossy(&bytes).into_owned())
            .bind(account.id)
            .bind(account.mode.as_str())
            .bind(key)
            .execute(db.pool())
            .await
            .map(|_| ())
            .map_err(AppError::from)
    };
    if let Err(e) = stored {
        // The work is done and answered; a retry will be told it was interrupted.
        tracing::warn!(error = %e, "could not keep an idempotent answer");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Frees a key (only the row created at `created_at`, when given).
async fn release(db: &Db, account: &Account, key: &str, created_at: Option<i64>) -> AppResult<()> {
    sqlx::query("DELETE FROM api_idempotency WHERE account_id = $1 AND mode = $2 AND idem_key = $3 AND ($4 IS NULL OR created_at = $4)")
        .bind(account.id)
        .bind(account.mode.as_str())
        .bind(key)
        .bind(created_at)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Forgets answers past the retention period.
pub async fn purge(db: &Db, now: i64) -> AppResult<u64> {
    Ok(sqlx::query("DELETE FROM api_idempotency WHERE created_at < $1").bind(now - RETENTION_MS).execute(db.pool()).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn fingerprint_tells_requests_apart() {
        let a = fingerprint("POST", "/api/v1/payment_links", b"{\"name\":\"Tea\"}");
        assert_eq!(a, fingerprint("POST", "/api/v1/payment_links", b"{\"name\":\"Tea\"}"));
        assert_ne!(a, fingerprint("POST", "/api/v1/payment_links", b"{\"name\":\"Tee\"}"));
        assert_ne!(a, fingerprint("POST", "/api/v1/payment_links/1", b"{\"name\":\"Tea\"}"));
        // The separator keeps path and body from sliding into each other.
        assert_ne!(fingerprint("POST", "/a", b"b"), fingerprint("POST", "/a\nb", b""));
    }
}

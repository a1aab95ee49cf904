//! Creating, listing and revoking the merchant's secret API keys (per mode).

use super::auth::{token_hash, Merchant};
use super::db::{now_ms, Db};
use super::ids::random_token;
use crate::domain::api_key::{key_prefix, ApiKeyView, NewApiKey};
use crate::domain::fields::{self, FieldError};
use crate::domain::Mode;
use crate::error::{AppError, AppResult};

/// A key's name: what it is for ("Shop backend").
pub const NAME_MAX: usize = 60;

/// A row of [`COLUMNS`].
#[derive(sqlx::FromRow)]
struct KeyRow {
    id: i64,
    name: String,
    prefix: String,
    #[sqlx(try_from = "String")]
    mode: Mode,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<KeyRow> for ApiKeyView {
    fn from(row: KeyRow) -> ApiKeyView {
        ApiKeyView {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            mode: row.mode,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked: row.revoked_at.is_some(),
        }
    }
}

const COLUMNS: &str = "id, name, prefix, mode, created_at, last_used_at, revoked_at";

/// A new key in the dashboard's current mode; live keys only once live mode is approved.
/// Active (unrevoked) keys an account may hold per mode: each is a way in.
pub const MAX_ACTIVE_KEYS: i64 = 20;

pub async fn create(db: &Db, account: &Merchant, name: &str) -> AppResult<NewApiKey> {
    let name = fields::text(name, NAME_MAX, false).map_err(|e| AppError::invalid("name", e))?;
    if account.mode == Mode::Live && !account.can_go_live() {
        return Err(AppError::LiveNotApproved);
    }
    // 256 random bits after the mode prefix.
    let secret = format!("{}{}{}", key_prefix(account.mode), random_token(), random_token());
    let prefix: String = secret.chars().take(key_prefix(account.mode).len() + 4).collect();
    // Written only while the account has room (one statement: count and insert).
    let row = sqlx::query_as::<_, KeyRow>(&format!(
        "INSERT INTO api_keys (account_id, mode, name, prefix, key_hash, created_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT COUNT(*) FROM api_keys \
           WHERE account_id = $1 AND mode = $2 AND revoked_at IS NULL) < $7 \
         RETURNING {COLUMNS}"
    ))
    .bind(account.id)
    .bind(account.mode.as_str())
    .bind(name)
    .bind(prefix)
    .bind(token_hash(&secret))
    .bind(now_ms())
    .bind(MAX_ACTIVE_KEYS)
    .fetch_optional(db.pool())
    .await?;
    let row = row.ok_or(AppError::invalid("name", FieldError::TooManyKeys { max: MAX_ACTIVE_KEYS as u32 }))?;
    Ok(NewApiKey { secret, key: row.into() })
}

/// The keys of the dashboard's current mode, newest first, revoked ones included.
pub async fn list(db: &Db, account: &Merchant) -> AppResult<Vec<ApiKeyView>> {
    let rows = sqlx::query_as::<_, KeyRow>(&format!("SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 AND mode = $2 ORDER BY id DESC"))
        .bind(account.id)
        .bind(account.mode.as_str())
        .fetch_all(db.pool())
        .await?;
    Ok(rows.into_iter().map(ApiKeyView::from).collect())
}

/// Revokes one of the merchant's keys at once (idempotent).
pub async fn revoke(db: &Db, account: &Merchant, id: i64) -> AppResult<ApiKeyView> {
    let row = sqlx::query_as::<_, KeyRow>(&format!(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND account_id = $3 RETURNING {COLUMNS}"
    ))
    .bind(now_ms())
    .bind(id)
    .bind(account.id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(row.into())
}

//! Webhooks to the merchant: their endpoints (per mode), the outbox that
//! records events with the changes they report, and the worker that
//! delivers them signed.

pub mod delivery;
pub(crate) mod outbox;

pub use delivery::{sign, spawn_worker, wake, worker_alive, Settings};

use super::auth::Merchant;
use super::db::{now_ms, Db};
use super::ids::random_token;
use super::secrets::SecretBox;
use crate::domain::webhook::{DeliveryStatus, DeliveryView, EndpointSecret, EndpointUrl, EndpointView, EventSet, EventType};
use crate::domain::Mode;
use crate::error::{AppError, AppResult};
use delivery::secret_context;

/// Endpoints a merchant may have per mode (each event is sent to all of them).
pub const MAX_ENDPOINTS: i64 = 16;
/// How long the secret before a rotation keeps signing deliveries, so the
/// merchant can deploy the new one without missing an event.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;
/// Deliveries shown per page of an endpoint's log.
pub const LOG_PAGE: i64 = 50;
/// How long events stay in the delivery log once no delivery of theirs is pending.
pub const LOG_RETENTION_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// `$1`: the start of the window the delivery counts cover.
const COLUMNS: &str = "e.id, e.public_id, e.url, e.events, e.mode, e.created_at, e.previous_secret_until, e.turned_off_at, \
     (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.created_at > $1 AND d.status = 'succeeded') AS succeeded, \
     (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.created_at > $1 AND d.status = 'pending') AS pending, \
     (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.created_at > $1 AND d.status = 'failed') AS failed";

/// A row of [`COLUMNS`].
#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: i64,
    public_id: String,
    url: String,
    events: String,
    #[sqlx(try_from = "String")]
    mode: Mode,
    created_at: i64,
    previous_secret_until: Option<i64>,
    turned_off_at: Option<i64>,
    succeeded: i64,
    pending: i64,
    failed: i64,
}

fn view(row: EndpointRow, now: i64) -> EndpointView {
    EndpointView {
        id: row.public_id,
        url: row.url,
        events: EventSet::from_stored(&row.events).types().to_vec(),
        mode: row.mode,
        created_at: row.created_at,
        previous_secret_until: row.previous_secret_until.filter(|t| *t > now),
        turned_off_at: row.turned_off_at,
        succeeded: row.succeeded,
        pending: row.pending,
        failed: row.failed,
    }
}

/// One line of an endpoint's delivery log.
#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    event_public_id: String,
    #[sqlx(rename = "type", try_from = "String")]
    event_type: EventType,
    #[sqlx(try_from = "String")]
    status: DeliveryStatus,
    attempts: i64,
    created_at: i64,
    last_attempt_at: Option<i64>,
    last_status_code: Option<i64>,
    last_latency_ms: Option<i64>,
    last_error: Option<String>,
    next_attempt_at: Option<i64>,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(row: DeliveryRow) -> DeliveryView {
        DeliveryView {
            id: row.id,
            event_id: row.event_public_id,
            event_type: row.event_type,
            status: row.status,
            attempts: row.attempts,
            created_at: row.created_at,
            last_attempt_at: row.last_attempt_at,
            last_status_code: row.last_status_code,
            last_latency_ms: row.last_latency_ms,
            last_error: row.last_error,
            // Only a pending delivery has a next attempt.
            next_attempt_at: row.next_attempt_at.filter(|_| row.status == DeliveryStatus::Pending),
        }
    }
}

/// The merchant's endpoints in their current mode, newest first (removed ones are not listed).
pub async fn list(db: &Db, account: &Merchant) -> AppResult<Vec<EndpointView>> {
    let now = now_ms();
    let rows = sqlx::query_as::<_, EndpointRow>(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints e WHERE e.account_id = $2 AND e.mode = $3 AND e.disabled_at IS NULL ORDER BY e.id DESC"
    ))
    .bind(now - crate::domain::webhook::RETRY_WINDOW_MS)
    .bind(account.id)
    .bind(account.mode.as_str())
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|r| view(r, now)).collect())
}

/// `columns` (see [`COLUMNS`]) of one of the merchant's endpoints (current mode, not removed).
async fn select_owned<Row>(db: &Db, account: &Merchant, public_id: &str, columns: &str, now: i64) -> AppResult<Row>
where
    Row: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as(&format!("SELECT {columns} FROM webhook_endpoints e WHERE e.public_id = $2 AND e.account_id = $3 AND e.mode = $4 AND e.disabled_at IS NULL"))
        .bind(now - crate::domain::webhook::RETRY_WINDOW_MS)
        .bind(public_id.to_owned())
        .bind(account.id)
        .bind(account.mode.as_str())
        .fetch_optional(db.pool())
        .await?
        .ok_or(AppError::NotFound)
}

/// The row id of one of the merchant's endpoints.
async fn owned(db: &Db, account: &Merchant, public_id: &str) -> AppResult<i64> {
    let (id,) = select_owned::<(i64,)>(db, account, public_id, "e.id", now_ms()).await?;
    Ok(id)
}

/// One of the merchant's endpoints with its delivery counts: its row id and view.
async fn find(db: &Db, account: &Merchant, public_id: &str) -> AppResult<(i64, EndpointView)> {
    let now = now_ms();
    let row = select_owned::<EndpointRow>(db, account, public_id, COLUMNS, now).await?;
    Ok((row.id, view(row, now)))
}

/// A new endpoint in the dashboard's current mode; its secret is returned.
pub async fn create(db: &Db, secrets: &SecretBox, allow_private: bool, account: &Merchant, url: &str, events: &[String]) -> AppResult<EndpointSecret> {
    if account.mode == Mode::Live && !account.can_go_live() {
        return Err(AppError::LiveNotApproved);
    }
    let url = EndpointUrl::parse(url, account.mode, allow_private).map_err(|e| AppError::invalid("url", e))?;
    let events = EventSet::parse(events).map_err(|e| AppError::invalid("events", e))?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE account_id = $1 AND mode = $2 AND disabled_at IS NULL")
        .bind(account.id)
        .bind(account.mode.as_str())
        .fetch_one(db.pool())
        .await?;
    if existing >= MAX_ENDPOINTS {
        return Err(AppError::Conflict(format!("at most {MAX_ENDPOINTS} endpoints per mode")));
    }
    let public_id = format!("we_{}", random_token());
    let secret = delivery::new_secret();
    sqlx::query(
        "INSERT INTO webhook_endpoints (public_id, account_id, mode, url, events, secret_sealed, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(public_id.clone())
    .bind(account.id)
    .bind(account.mode.as_str())
    .bind(url.as_str().to_owned())
    .bind(events.stored())
    .bind(secrets.seal(&secret, &secret_context(&public_id)))
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    crate::server::checkout_link_cache::forget_account_links(account.id);
    let (_, endpoint) = find(db, account, &public_id).await?;
    Ok(EndpointSecret { endpoint, secret })
}

/// Changes an endpoint's URL and events (its secret and log stay).
pub async fn update(db: &Db, allow_private: bool, account: &Merchant, public_id: &str, url: &str, events: &[String]) -> AppResult<EndpointView> {
    let id = owned(db, account, public_id).await?;
    let url = EndpointUrl::parse(url, account.mode, allow_private).map_err(|e| AppError::invalid("url", e))?;
    let events = EventSet::parse(events).map_err(|e| AppError::invalid("events", e))?;
    sqlx::query("UPDATE webhook_endpoints SET url = $1, events = $2 WHERE id = $3")
        .bind(url.as_str().to_owned())
        .bind(events.stored())
        .bind(id)
        .execute(db.pool())
        .await?;
    crate::server::checkout_link_cache::forget_account_links(account.id);
    Ok(find(db, account, public_id).await?.1)
}

/// The endpoint's current signing secret.
pub async fn reveal(db: &Db, secrets: &SecretBox, account: &Merchant, public_id: &str) -> AppResult<EndpointSecret> {
    let (id, endpoint) = find(db, account, public_id).await?;
    let sealed: String = sqlx::query_scalar("SELECT secret_sealed FROM webhook_endpoints WHERE id = $1").bind(id).fetch_one(db.pool()).await?;
    let secret = secrets.open(&sealed, &secret_context(public_id)).map_err(anyhow::Error::from)?;
    Ok(EndpointSecret { endpoint, secret })
}

/// A new signing secret; the old one keeps signing (beside it) for
/// [`ROTATION_OVERLAP_MS`]. Rotating again within that time ends the older
/// secret at once: only the last two are ever valid.
pub async fn rotate(db: &Db, secrets: &SecretBox, account: &Merchant, public_id: &str) -> AppResult<EndpointSecret> {
    let id = owned(db, account, public_id).await?;
    let secret = delivery::new_secret();
    sqlx::query("UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed, previous_secret_until = $1, secret_sealed = $2 WHERE id = $3")
        .bind(now_ms() + ROTATION_OVERLAP_MS)
        .bind(secrets.seal(&secret, &secret_context(public_id)))
        .bind(id)
        .execute(db.pool())
        .await?;
    let (_, endpoint) = find(db, account, public_id).await?;
    Ok(EndpointSecret { endpoint, secret })
}

/// Removes an endpoint: nothing more is sent to it (deliveries still due are
/// given up); its log stays in the database.
pub async fn remove(db: &Db, account: &Merchant, public_id: &str) -> AppResult<()> {
    let id = owned(db, account, public_id).await?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE webhook_endpoints SET disabled_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *tx).await?;
    sqlx::query("UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint removed' WHERE endpoint_id = $1 AND status = 'pending'")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    crate::server::checkout_link_cache::forget_account_links(account.id);
    Ok(())
}

/// The endpoint's deliveries, newest first, [`LOG_PAGE`] at a time (`before`: the last id seen).
pub async fn deliveries(db: &Db, account: &Merchant, public_id: &str, before: Option<i64>) -> AppResult<Vec<DeliveryView>> {
    let id = owned(db, account, public_id).await?;
    let rows = sqlx::query(
        "SELECT d.id, ev.public_id AS event_public_id, ev.type, d.status, d.attempts, d.created_at, d.last_attempt_at, \
         d.last_status_code, d.last_latency_ms, d.last_error, d.next_attempt_at \
         FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id \
         WHERE d.endpoint_id = $1 AND d.id < $2 ORDER BY d.id DESC LIMIT $3",
    )
    .bind(id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(LOG_PAGE)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|row| Ok(<DeliveryRow as sqlx::FromRow<_>>::from_row(row)?.into())).collect()
}

/// Sends delivery `delivery_id` again now, with the same event id. One that
/// succeeded or gave up gets one more attempt; one still retrying is moved
/// up to now.
pub async fn resend(db: &Db, account: &Merchant, public_id: &str, delivery_id: i64) -> AppResult<()> {
    let id = owned(db, account, public_id).await?;
    let now = now_ms();
    let moved = sqlx::query(
        "UPDATE webhook_deliveries SET give_up_at = CASE WHEN status = 'pending' THEN give_up_at ELSE $1 END, \
         status = 'pending', next_attempt_at = $1 WHERE id = $2 AND endpoint_id = $3",
    )
    .bind(now)
    .bind(delivery_id)
    .bind(id)
    .execute(db.pool())
    .await?;
    if moved.rows_affected() != 1 {
        return Err(AppError::NotFound);
    }
    wake();
    Ok(())
}

/// A `ping` event to this endpoint only; returns its event id. Refused
/// while the endpoint is turned off (nothing would be sent).
pub async fn send_test(db: &Db, account: &Merchant, public_id: &str) -> AppResult<String> {
    let (id, turned_off_at) = select_owned::<(i64, Option<i64>)>(db, account, public_id, "e.id, e.turned_off_at", now_ms()).await?;
    if turned_off_at.is_some() {
        return Err(AppError::Conflict("the endpoint is turned off: turn it back on first".into()));
    }
    let mut tx = db.begin().await?;
    let event = outbox::ping(&mut tx, account.id, account.mode, id, public_id, now_ms()).await?;
    tx.commit().await?;
    wake();
    Ok(event)
}

/// Turns an endpoint that Paylinks turned off (its deliveries failed for a
/// day) back on: new events are queued for it again, and the deliveries that
/// waited are sent now (one past its retry window gets one more attempt).
pub async fn turn_back_on(db: &Db, account: &Merchant, public_id: &str) -> AppResult<EndpointView> {
    let id = owned(db, account, public_id).await?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE webhook_endpoints SET turned_off_at = NULL WHERE id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at > $1")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    crate::server::checkout_link_cache::forget_account_links(account.id);
    wake();
    Ok(find(db, account, public_id).await?.1)
}

/// Forgets events older than [`LOG_RETENTION_MS`] (with their deliveries)
/// unless one of their deliveries is still pending (a manual re-send).
pub async fn purge(db: &Db, now: i64) -> AppResult<u64> {
    let done = sqlx::query(
        "DELETE FROM webhook_events WHERE created_at < $1 AND NOT EXISTS \
         (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.status = 'pending')",
    )
    .bind(now - LOG_RETENTION_MS)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}

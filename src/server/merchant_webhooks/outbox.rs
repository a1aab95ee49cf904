//! The outbox: an event is written in the same transaction as the change it
//! reports, with one delivery row per subscribed endpoint. If the process
//! dies before the commit, neither the change nor the event happened; after
//! it, the delivery worker finds the event however the process ended.

use crate::domain::link::{rfc3339, LinkView};
use crate::domain::webhook::{subscribed_pattern, EventSet, EventType};
use crate::domain::Mode;
use crate::error::AppResult;
use crate::server::api::objects::{PaymentLinkObject, PaymentObject};
use crate::server::db::WriteTx;
use crate::server::payments::random_token;
use serde_json::Value;
use sqlx::Row;

/// Of `types`, the ones an enabled endpoint of this merchant and mode
/// subscribes to. One indexed read: merchants without endpoints pay nothing more.
async fn wanted(tx: &mut WriteTx, account_id: i64, mode: Mode, types: &[EventType]) -> AppResult<Vec<EventType>> {
    if types.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query("SELECT events FROM webhook_endpoints WHERE account_id = $1 AND mode = $2 AND disabled_at IS NULL")
        .bind(account_id)
        .bind(mode.as_str())
        .fetch_all(&mut **tx)
        .await?;
    let sets: Vec<EventSet> = rows.iter().map(|r| r.try_get::<String, _>(0).map(|s| EventSet::from_stored(&s))).collect::<Result<_, _>>()?;
    Ok(types.iter().copied().filter(|t| sets.iter().any(|s| s.contains(*t))).collect())
}

/// The events `types` of payment `payment_id` (as it is now, inside `tx`).
pub(crate) async fn payment_events(tx: &mut WriteTx, account_id: i64, mode: Mode, payment_id: i64, types: &[EventType], now: i64) -> AppResult<bool> {
    let types = wanted(tx, account_id, mode, types).await?;
    if types.is_empty() {
        return Ok(false);
    }
    let row = sqlx::query(&format!(
        "SELECT {}, p.account_id FROM payments p JOIN links l ON l.id = p.link_id WHERE p.id = $1",
        crate::server::payments::COLUMNS
    ))
    .bind(payment_id)
    .fetch_one(&mut **tx)
    .await?;
    let payment = crate::server::payments::payment(&row)?;
    let object = serde_json::to_value(PaymentObject::new(&payment.view)).map_err(anyhow::Error::from)?;
    for t in types {
        record(tx, account_id, mode, t, &object, now, None).await?;
    }
    Ok(true)
}

/// The events `types` of `link` (as it is now, inside `tx`).
pub(crate) async fn link_events(tx: &mut WriteTx, account_id: i64, link: &LinkView, public_url: &str, types: &[EventType], now: i64) -> AppResult<bool> {
    let types = wanted(tx, account_id, link.mode, types).await?;
    if types.is_empty() {
        return Ok(false);
    }
    let object = serde_json::to_value(PaymentLinkObject::new(link, public_url)).map_err(anyhow::Error::from)?;
    for t in types {
        record(tx, account_id, link.mode, t, &object, now, None).await?;
    }
    Ok(true)
}

/// A `ping` for one endpoint (the dashboard's "send test event").
pub(crate) async fn ping(tx: &mut WriteTx, account_id: i64, mode: Mode, endpoint_id: i64, endpoint_public_id: &str, now: i64) -> AppResult<String> {
    let object = serde_json::json!({ "object": "webhook_endpoint", "id": endpoint_public_id });
    record(tx, account_id, mode, EventType::Ping, &object, now, Some(endpoint_id)).await
}

/// Writes one event and its deliveries: to every enabled endpoint subscribed
/// to its type, or to `only` (a ping). Returns the event's `evt_…` id.
async fn record(tx: &mut WriteTx, account_id: i64, mode: Mode, t: EventType, object: &Value, now: i64, only: Option<i64>) -> AppResult<String> {
    let public_id = format!("evt_{}", random_token());
    // The exact bytes every attempt sends (and signs).
    let payload = serde_json::json!({
        "id": public_id,
        "type": t.as_str(),
        "mode": mode,
        "created_at": rfc3339(now),
        "data": object,
    })
    .to_string();
    let event_id: i64 = sqlx::query(
        "INSERT INTO webhook_events (public_id, account_id, mode, type, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(public_id.clone())
    .bind(account_id)
    .bind(mode.as_str())
    .bind(t.as_str())
    .bind(payload)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    let give_up_at = now + crate::domain::webhook::RETRY_WINDOW_MS;
    let insert = "INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at, give_up_at, created_at) \
         SELECT $1, id, 'pending', 0, $2, $3, $2 FROM webhook_endpoints \
         WHERE account_id = $4 AND mode = $5 AND disabled_at IS NULL";
    match only {
        Some(endpoint) => sqlx::query(&format!("{insert} AND id = $6"))
            .bind(event_id)
            .bind(now)
            .bind(give_up_at)
            .bind(account_id)
            .bind(mode.as_str())
            .bind(endpoint)
            .execute(&mut **tx)
            .await?,
        None => sqlx::query(&format!("{insert} AND events LIKE $6"))
            .bind(event_id)
            .bind(now)
            .bind(give_up_at)
            .bind(account_id)
            .bind(mode.as_str())
            .bind(subscribed_pattern(t))
            .execute(&mut **tx)
            .await?,
    };
    Ok(public_id)
}

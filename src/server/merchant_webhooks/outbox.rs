//! The outbox: an event is written in the same transaction as the change it
//! reports, with one delivery row per subscribed endpoint. If the process
//! dies before the commit, neither the change nor the event happened; after
//! it, the delivery worker finds the event however the process ended.

use crate::domain::link::{rfc3339, LinkView};
use crate::domain::payment::PaymentView;
use crate::domain::webhook::{subscribed_pattern, wanted_by, EventSet, EventType};
use crate::domain::Mode;
use crate::error::AppResult;
use crate::server::db::WriteTx;
use crate::server::ids::random_token;
use crate::server::wire::{PaymentLinkObject, PaymentLinkWebhook, PaymentObject, PaymentWebhook, PingObject, PingWebhook};

/// Of `types`, the ones an enabled endpoint of this merchant and mode
/// subscribes to. One indexed read: merchants without endpoints pay nothing more.
async fn wanted(tx: &mut WriteTx, account_id: i64, mode: Mode, types: &[EventType]) -> AppResult<Vec<EventType>> {
    if types.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT events FROM webhook_endpoints WHERE account_id = $1 AND mode = $2 AND disabled_at IS NULL AND turned_off_at IS NULL")
            .bind(account_id)
            .bind(mode.as_str())
            .fetch_all(&mut **tx)
            .await?;
    let sets: Vec<EventSet> = rows.iter().map(|s| EventSet::from_stored(s)).collect();
    Ok(wanted_by(types, &sets))
}

/// The events `types` of `payment`, as its caller has just written it inside `tx`.
pub(crate) async fn payment_events(tx: &mut WriteTx, account_id: i64, payment: &PaymentView, types: &[EventType], now: i64) -> AppResult<bool> {
    let types = wanted(tx, account_id, payment.mode, types).await?;
    wanted_payment_events(tx, account_id, payment, &types, now).await
}

/// [`payment_events`] for types already filtered (by [`wanted`], or by the
/// subscriptions read with the link: one statement less under the lock).
pub(crate) async fn wanted_payment_events(tx: &mut WriteTx, account_id: i64, payment: &PaymentView, types: &[EventType], now: i64) -> AppResult<bool> {
    if types.is_empty() {
        return Ok(false);
    }
    let mode = payment.mode;
    for &kind in types {
        let id = new_event_id();
        let body = PaymentWebhook { id: id.clone(), kind, mode, created_at: rfc3339(now), data: PaymentObject::new(payment) };
        record(tx, account_id, mode, &id, kind, &to_json(&body)?, now, None).await?;
    }
    Ok(true)
}

/// The events `types` of `link` (as it is now, inside `tx`).
pub(crate) async fn link_events(tx: &mut WriteTx, account_id: i64, link: &LinkView, public_url: &str, types: &[EventType], now: i64) -> AppResult<bool> {
    let types = wanted(tx, account_id, link.mode, types).await?;
    if types.is_empty() {
        return Ok(false);
    }
    for kind in types {
        let id = new_event_id();
        let body = PaymentLinkWebhook { id: id.clone(), kind, mode: link.mode, created_at: rfc3339(now), data: PaymentLinkObject::new(link, public_url) };
        record(tx, account_id, link.mode, &id, kind, &to_json(&body)?, now, None).await?;
    }
    Ok(true)
}

/// A `ping` for one endpoint (the dashboard's "send test event").
pub(crate) async fn ping(tx: &mut WriteTx, account_id: i64, mode: Mode, endpoint_id: i64, endpoint_public_id: &str, now: i64) -> AppResult<String> {
    let id = new_event_id();
    let data = PingObject { object: "webhook_endpoint", id: endpoint_public_id.to_owned() };
    let body = PingWebhook { id: id.clone(), kind: EventType::Ping, mode, created_at: rfc3339(now), data };
    record(tx, account_id, mode, &id, EventType::Ping, &to_json(&body)?, now, Some(endpoint_id)).await?;
    Ok(id)
}

fn new_event_id() -> String {
    format!("evt_{}", random_token())
}

/// The exact bytes every attempt sends (and signs).
fn to_json(body: &impl serde::Serialize) -> AppResult<String> {
    Ok(serde_json::to_string(body).map_err(anyhow::Error::from)?)
}

/// Writes event `public_id` (its JSON `payload`) and its deliveries: to
/// every enabled endpoint subscribed to its type (not removed, not turned off), or to `only` (a ping).
#[allow(clippy::too_many_arguments)]
async fn record(tx: &mut WriteTx, account_id: i64, mode: Mode, public_id: &str, t: EventType, payload: &str, now: i64, only: Option<i64>) -> AppResult<()> {
    let event_id: i64 =
        sqlx::query_scalar("INSERT INTO webhook_events (public_id, account_id, mode, type, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(public_id.to_owned())
            .bind(account_id)
            .bind(mode.as_str())
            .bind(t.as_str())
            .bind(payload.to_owned())
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
    let give_up_at = now + crate::domain::webhook::RETRY_WINDOW_MS;
    sqlx::query(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at, give_up_at, created_at) \
         SELECT $1, id, 'pending', 0, $2, $3, $2 FROM webhook_endpoints \
         WHERE account_id = $4 AND mode = $5 AND disabled_at IS NULL AND turned_off_at IS NULL \
         AND (id = $6 OR ($6 IS NULL AND events LIKE $7))",
    )
    .bind(event_id)
    .bind(now)
    .bind(give_up_at)
    .bind(account_id)
    .bind(mode.as_str())
    .bind(only)
    .bind(subscribed_pattern(t))
    .execute(&mut **tx)
    .await?;
    // In the request's span when a request caused it: its id, then the event's
    // id in the delivery worker's lines, tie the two together.
    tracing::info!(event = %public_id, kind = t.as_str(), "webhook event queued");
    Ok(())
}

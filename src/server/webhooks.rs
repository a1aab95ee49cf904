//! `POST /webhooks/komoju/{merchant}`: KOMOJU tells us what happened to live
//! payments. Each merchant has their own endpoint and webhook secret; an
//! unsigned or mis-signed request gets 401 and changes nothing, and each
//! delivery (`X-Komoju-ID`) is processed once.

use super::db::now_ms;
use super::komoju::{self, parse_payment, signature_valid};
use super::payments;
use super::AppState;
use crate::domain::provider::DisputeNews;
use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// The URL a merchant pastes into KOMOJU's webhook settings.
pub fn komoju_url(public_url: &str, merchant_public_id: &str) -> String {
    format!("{public_url}/webhooks/komoju/{merchant_public_id}")
}

fn answer(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

pub async fn komoju(State(state): State<AppState>, Path(merchant): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let db = &state.db;
    let account_id: i64 = match sqlx::query_scalar("SELECT id FROM accounts WHERE public_id = $1").bind(merchant).fetch_optional(db.pool()).await {
        Ok(Some(id)) => id,
        Ok(None) => return answer(StatusCode::NOT_FOUND, "unknown merchant"),
        Err(_) => return answer(StatusCode::SERVICE_UNAVAILABLE, "try again"),
    };
    let credentials = match state.komoju.credentials(db, account_id).await {
        Ok(Some(credentials)) => credentials,
        Ok(None) => return answer(StatusCode::NOT_FOUND, "no KOMOJU account connected"),
        Err(_) => return answer(StatusCode::SERVICE_UNAVAILABLE, "try again"),
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or_default();
    if !signature_valid(&credentials.webhook_secret, &body, header("x-komoju-signature")) {
        tracing::warn!(account_id, "KOMOJU webhook with a bad signature refused");
        return answer(StatusCode::UNAUTHORIZED, "bad signature");
    }
    let delivery = header("x-komoju-id");
    if delivery.is_empty() || delivery.len() > 200 {
        return answer(StatusCode::BAD_REQUEST, "missing X-Komoju-ID");
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return answer(StatusCode::BAD_REQUEST, "not JSON");
    };
    let kind = event.get("type").and_then(Value::as_str).unwrap_or_else(|| header("x-komoju-event")).to_owned();
    // No timestamp is signed, so a captured request could be replayed later:
    // events older than the window are refused, and each event id (as well
    // as each delivery id) takes effect once.
    if let Some(age_ms) = event_age_ms(&event, now_ms()) {
        if age_ms > state.config.komoju_webhook_max_age_ms {
            tracing::warn!(account_id, delivery, age_ms, "KOMOJU webhook older than the replay window refused");
            return answer(StatusCode::BAD_REQUEST, "event too old");
        }
    }
    let event_key = event.get("id").and_then(Value::as_str).filter(|id| !id.is_empty() && id.len() <= 200).map(|id| format!("event:{id}"));
    for key in std::iter::once(delivery.to_owned()).chain(event_key.clone()) {
        match komoju::delivery_seen(db, account_id, &key).await {
            Ok(false) => {}
            Ok(true) => return answer(StatusCode::OK, "already processed"),
            Err(_) => return answer(StatusCode::SERVICE_UNAVAILABLE, "try again"),
        }
    }
    // Processing is idempotent (`payments::follow`), so the delivery is recorded
    // only once it took effect: a crash in between means KOMOJU's retry is
    // applied (as a no-op if the change had committed), never skipped.
    match process(&state, account_id, &kind, &event).await {
        Ok(text) => {
            for key in std::iter::once(delivery.to_owned()).chain(event_key) {
                if komoju::record_delivery(db, account_id, &key, &kind).await.is_err() {
                    return answer(StatusCode::SERVICE_UNAVAILABLE, "try again");
                }
            }
            answer(StatusCode::OK, text)
        }
        Err(e) => {
            tracing::error!(account_id, delivery, error = %e, "KOMOJU webhook failed; KOMOJU will retry");
            answer(StatusCode::SERVICE_UNAVAILABLE, "try again")
        }
    }
}

/// How old an event says it is: `created_at` as RFC 3339 text or Unix
/// seconds; `None` when it does not say (then only the ids guard it).
fn event_age_ms(event: &Value, now: i64) -> Option<i64> {
    let created = event.get("created_at")?;
    let at_ms = match created {
        Value::String(text) => {
            let (local, offset) = crate::domain::link::rfc3339_to_input(text)?;
            crate::domain::link::parse_local_datetime(&local, offset)?
        }
        Value::Number(n) => n.as_i64()?.checked_mul(1000)?,
        _ => return None,
    };
    Some(now.saturating_sub(at_ms))
}

/// What one event means for our records. Disagreements that need a person
/// (amount mismatch, money after we gave up) are logged and acknowledged:
/// KOMOJU retrying them would not help.
async fn process(state: &AppState, account_id: i64, kind: &str, event: &Value) -> Result<&'static str, AppError> {
    if !kind.starts_with("payment.") {
        return Ok("ignored");
    }
    let Some(data) = event.get("data") else {
        return Ok("no data");
    };
    let Some(theirs) = parse_payment(data) else {
        tracing::warn!(kind, "KOMOJU webhook with an unreadable payment");
        return Ok("unreadable payment");
    };
    let session = data.get("session").and_then(Value::as_str);
    let mut ours = payments::by_provider(&state.db, account_id, session, Some(&theirs.id)).await?;
    if ours.is_none() {
        // Our public id travels as the external order number.
        if let Some(order) = data.get("external_order_num").and_then(Value::as_str) {
            ours = payments::by_public_id(&state.db, order).await.ok().filter(|p| p.account_id == account_id && p.view.mode == crate::domain::Mode::Live);
        }
    }
    let Some(ours) = ours else {
        tracing::warn!(account_id, provider_payment = %theirs.id, "KOMOJU webhook for a payment we do not know");
        return Ok("unknown payment");
    };
    let followed = match DisputeNews::of_event(kind) {
        Some(news) => payments::follow_dispute(&state.db, &ours, &theirs, news, kind).await,
        None => payments::follow(&state.db, &ours, &theirs, kind).await,
    };
    match followed {
        Ok(payment) => {
            payments::refund_if_unwanted(&state.komoju, &state.db, &payment);
            Ok("ok")
        }
        Err(AppError::Conflict(_)) => Ok("needs attention"),
        Err(e) => Err(e),
    }
}

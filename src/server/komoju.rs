//! The live-mode connector: each merchant's KOMOJU account, its hosted
//! checkout sessions, refunds and signed webhooks.
//!
//! KOMOJU is the source of truth for live payments. We create a session when
//! the customer submits (with our attempt's idempotency token as
//! `X-KOMOJU-IDEMPOTENCY`, so a retried submit finds the same session), and
//! follow what KOMOJU reports — on the customer's return and by webhook —
//! with [`crate::domain::provider::catch_up`].

use super::db::{now_ms, Db};
use super::payments::{self, Facts, Payment};
use super::secrets::SecretBox;
use crate::domain::provider::{catch_up, DisputeNews, ProviderPayment, ProviderStatus, SyncError};
use crate::error::{AppError, AppResult};
use serde_json::{json, Value};
use sqlx::Row;
use std::time::Duration;

pub const DEFAULT_BASE_URL: &str = "https://komoju.com";

/// The connector shared by every request.
#[derive(Clone, Debug)]
pub struct Komoju {
    http: reqwest::Client,
    base_url: String,
    secrets: SecretBox,
}

/// A merchant's credentials, opened for one call and dropped with it.
pub struct Credentials {
    pub secret_key: String,
    pub webhook_secret: String,
}

/// What the settings page shows: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub secret_key_hint: String,
    pub updated_at: i64,
}

/// A session KOMOJU created for one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub url: String,
    /// `pending` | `completed` | `cancelled`
    pub status: String,
    pub payment: Option<ProviderPayment>,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> AppError {
    tracing::warn!(error = %e, "KOMOJU {what} failed");
    AppError::ProviderUnavailable
}

/// Checks a secret key as typed: KOMOJU's live secret keys start `sk_live_`.
pub fn parse_secret_key(input: &str) -> Result<String, crate::domain::fields::FieldError> {
    use crate::domain::fields::FieldError;
    let key = input.trim();
    if key.is_empty() {
        return Err(FieldError::Required);
    }
    if !key.starts_with("sk_live_") || key.len() < 16 || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(FieldError::KomojuKeyInvalid);
    }
    Ok(key.to_owned())
}

pub fn parse_webhook_secret(input: &str) -> Result<String, crate::domain::fields::FieldError> {
    use crate::domain::fields::FieldError;
    let secret = input.trim();
    if secret.is_empty() {
        return Err(FieldError::Required);
    }
    if secret.len() < 8 || secret.len() > 200 || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::KomojuKeyInvalid);
    }
    Ok(secret.to_owned())
}

/// `X-Komoju-Signature` is the hex HMAC-SHA256 of the raw body keyed with the
/// webhook secret; compared in constant time.
pub fn signature_valid(webhook_secret: &str, body: &[u8], signature: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Ok(expected) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(webhook_secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Reads KOMOJU's payment object.
pub fn parse_payment(value: &Value) -> Option<ProviderPayment> {
    let refunded = match value.get("amount_refunded").and_then(Value::as_i64) {
        Some(amount) => amount,
        None => value
            .get("refunds")
            .and_then(Value::as_array)
            .map(|refunds| refunds.iter().filter_map(|r| r.get("amount").and_then(Value::as_i64)).sum())
            .unwrap_or(0),
    };
    Some(ProviderPayment {
        id: value.get("id")?.as_str()?.to_owned(),
        status: ProviderStatus::parse(value.get("status")?.as_str()?)?,
        amount: value.get("amount")?.as_i64()?,
        currency: value.get("currency")?.as_str()?.to_owned(),
        refunded,
    })
}

fn parse_session(value: &Value) -> Option<Session> {
    Some(Session {
        id: value.get("id")?.as_str()?.to_owned(),
        url: value.get("session_url").and_then(Value::as_str).unwrap_or_default().to_owned(),
        status: value.get("status").and_then(Value::as_str).unwrap_or("pending").to_owned(),
        payment: value.get("payment").filter(|p| p.is_object()).and_then(parse_payment),
    })
}

impl Komoju {
    pub fn new(base_url: &str, secrets: SecretBox) -> Komoju {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("paylinks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Komoju { http, base_url: base_url.trim_end_matches('/').to_owned(), secrets }
    }

    // ---- the merchant's account -------------------------------------------

    fn context(field: &str, account_id: i64) -> String {
        format!("komoju-{field}:{account_id}")
    }

    pub async fn save_credentials(&self, db: &Db, account_id: i64, secret_key: &str, webhook_secret: &str) -> AppResult<Settings> {
        let hint: String = secret_key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO komoju_accounts (account_id, secret_key_sealed, secret_key_hint, webhook_secret_sealed, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE SET secret_key_sealed = excluded.secret_key_sealed, \
             secret_key_hint = excluded.secret_key_hint, webhook_secret_sealed = excluded.webhook_secret_sealed, \
             updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(self.secrets.seal(secret_key, &Self::context("secret-key", account_id)))
        .bind(hint.clone())
        .bind(self.secrets.seal(webhook_secret, &Self::context("webhook-secret", account_id)))
        .bind(now)
        .execute(db.pool())
        .await?;
        Ok(Settings { secret_key_hint: hint, updated_at: now })
    }

    pub async fn settings(db: &Db, account_id: i64) -> AppResult<Option<Settings>> {
        let row = sqlx::query("SELECT secret_key_hint, updated_at FROM komoju_accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(db.pool())
            .await?;
        row.map(|row| Ok(Settings { secret_key_hint: row.try_get(0)?, updated_at: row.try_get(1)? })).transpose()
    }

    pub async fn credentials(&self, db: &Db, account_id: i64) -> AppResult<Option<Credentials>> {
        let Some(row) = sqlx::query("SELECT secret_key_sealed, webhook_secret_sealed FROM komoju_accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(db.pool())
            .await?
        else {
            return Ok(None);
        };
        let open = |sealed: String, field: &str| {
            self.secrets.open(&sealed, &Self::context(field, account_id)).map_err(|e| {
                tracing::error!(account_id, error = %e, "KOMOJU credentials unreadable: was the server key changed?");
                AppError::Internal
            })
        };
        Ok(Some(Credentials {
            secret_key: open(row.try_get(0)?, "secret-key")?,
            webhook_secret: open(row.try_get(1)?, "webhook-secret")?,
        }))
    }

    // ---- KOMOJU's API -------------------------------------------------------

    async fn call(&self, request: reqwest::RequestBuilder, secret_key: &str, what: &str) -> AppResult<Value> {
        let response = request.basic_auth(secret_key, Some("")).send().await.map_err(|e| unavailable(what, e))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| unavailable(what, e))?;
        if status.is_success() {
            return Ok(body);
        }
        let message = body
            .pointer("/error/message")
            .or_else(|| body.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(300)
            .collect::<String>();
        tracing::warn!(%status, %message, "KOMOJU {what} refused");
        match status.as_u16() {
            // A retry while the first request with this idempotency key is still running.
            409 => Err(AppError::Conflict("the same request is still in progress".into())),
            400..=499 if !message.is_empty() => Err(AppError::ProviderRefused { message }),
            _ => Err(AppError::ProviderUnavailable),
        }
    }

    /// `POST /api/v1/sessions`; the same `idempotency_key` gives the same session.
    pub async fn create_session(&self, secret_key: &str, idempotency_key: &str, body: &Value) -> AppResult<Session> {
        let request = self
            .http
            .post(format!("{}/api/v1/sessions", self.base_url))
            .header("X-KOMOJU-IDEMPOTENCY", idempotency_key)
            .json(body);
        let value = self.call(request, secret_key, "session creation").await?;
        parse_session(&value).filter(|s| s.url.starts_with("https://") || s.url.starts_with("http://")).ok_or_else(|| unavailable("session creation", "no session url in the answer"))
    }

    /// `GET /api/v1/sessions/{id}`
    pub async fn session(&self, secret_key: &str, id: &str) -> AppResult<Session> {
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') || id.is_empty() {
            return Err(AppError::BadRequest);
        }
        let request = self.http.get(format!("{}/api/v1/sessions/{id}", self.base_url));
        let value = self.call(request, secret_key, "session lookup").await?;
        parse_session(&value).ok_or_else(|| unavailable("session lookup", "unreadable session"))
    }

    /// `POST /api/v1/payments/{id}/refund`
    pub async fn refund(&self, secret_key: &str, payment_id: &str, amount: i64, description: Option<&str>, idempotency_key: &str) -> AppResult<ProviderPayment> {
        let mut body = json!({ "amount": amount });
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        let request = self
            .http
            .post(format!("{}/api/v1/payments/{payment_id}/refund", self.base_url))
            .header("X-KOMOJU-IDEMPOTENCY", idempotency_key)
            .json(&body);
        let value = self.call(request, secret_key, "refund").await?;
        parse_payment(&value).ok_or_else(|| unavailable("refund", "unreadable payment"))
    }
}

/// Brings `payment` in line with what KOMOJU reports. Safe to call again
/// with the same news (return page + webhook + retries).
pub async fn follow(db: &Db, payment: &Payment, theirs: &ProviderPayment, note: &str) -> AppResult<Payment> {
    let ours = payment.state()?;
    let steps = match catch_up(&ours, payment.view.currency.code(), theirs) {
        Ok(steps) => steps,
        Err(e @ (SyncError::AmountMismatch { .. } | SyncError::Diverged { .. })) => {
            tracing::error!(payment = %payment.view.public_id, provider_payment = %theirs.id, error = %e, "KOMOJU and Paylinks disagree");
            return Err(AppError::Conflict(e.to_string()));
        }
    };
    let mut current = payment.clone();
    for step in steps {
        let facts = Facts { provider_ref: Some(theirs.id.clone()), provider_settled: true, note: Some(note.to_owned()), ..Facts::default() };
        current = match payments::transition(db, current.id, step, facts).await {
            Ok(moved) => moved,
            // Someone else (a concurrent webhook) moved it first: re-read and stop;
            // the next piece of news starts from the new state.
            Err(AppError::Conflict(_)) => return payments::by_id(db, current.id).await,
            Err(e) => return Err(e),
        };
    }
    Ok(current)
}

/// Gives back an unwanted capture (the link was inactive, expired or out of
/// units when KOMOJU settled it) in full, once: the idempotency key is the
/// payment's, so a retry after a lost answer is the same refund. KOMOJU
/// refusing (e.g. a konbini payment needs the customer's bank account) or
/// staying unreachable leaves it to the merchant, said in its history.
pub async fn refund_unwanted(komoju: &Komoju, db: &Db, id: i64) -> AppResult<Payment> {
    let payment = payments::by_id(db, id).await?;
    let (Some(unwanted), true) = (payment.view.unwanted, payment.view.auto_refund_due) else {
        return Ok(payment);
    };
    let remaining = payment.view.amount - payment.view.refunded_amount;
    let provider_payment = payment.provider_ref.clone();
    let (Some(provider_payment), true) = (provider_payment, payment.view.status == crate::domain::payment::PaymentStatus::Captured && remaining > 0) else {
        // Refunded meanwhile (by the merchant, or KOMOJU told us), or charged back.
        payments::auto_refund_over(db, id, None).await?;
        return payments::by_id(db, id).await;
    };
    let Some(credentials) = komoju.credentials(db, payment.account_id).await? else {
        payments::auto_refund_over(db, id, Some("KOMOJU is no longer connected")).await?;
        return payments::by_id(db, id).await;
    };
    let reason = format!("Paylinks: {}", unwanted.as_str().replace('_', " "));
    let key = format!("paylinks-auto-refund-{}", payment.view.public_id);
    match komoju.refund(&credentials.secret_key, &provider_payment, remaining, Some(&reason), &key).await {
        Ok(theirs) => {
            let followed = follow(db, &payment, &theirs, &format!("automatic refund ({})", unwanted.as_str())).await?;
            payments::auto_refund_over(db, id, None).await?;
            tracing::info!(payment = %payment.view.public_id, reason = unwanted.as_str(), "unwanted live capture refunded");
            Ok(payments::by_id(db, followed.id).await?)
        }
        Err(AppError::ProviderRefused { message }) => {
            tracing::warn!(payment = %payment.view.public_id, %message, "KOMOJU refused an automatic refund; the merchant has to act");
            payments::auto_refund_over(db, id, Some(&message)).await?;
            payments::by_id(db, id).await
        }
        Err(e) => {
            tracing::warn!(payment = %payment.view.public_id, error = %e, "automatic refund failed; trying again later");
            payments::auto_refund_later(db, id).await?;
            Err(e)
        }
    }
}

/// After news about `payment`: an unwanted capture is refunded at once, in
/// the background (the caller answers KOMOJU or the customer meanwhile);
/// the periodic job retries what this does not finish.
pub fn refund_if_unwanted(komoju: &Komoju, db: &Db, payment: &Payment) {
    if payment.view.unwanted.is_some() && payment.view.auto_refund_due {
        let (komoju, db, id) = (komoju.clone(), db.clone(), payment.id);
        tokio::spawn(async move {
            let _ = refund_unwanted(&komoju, &db, id).await;
        });
    }
}

/// How long past its deadline a live attempt waits for KOMOJU to answer
/// before it is ended anyway (a capture after that is still recorded).
pub const STALE_GRACE_MS: i64 = 60 * 60 * 1000;

/// Ends live attempt `id` once its KOMOJU session's lifetime has passed, so
/// its reserved unit comes back: KOMOJU is asked first (the customer may
/// have paid at the last minute); with no answer the attempt waits up to
/// [`STALE_GRACE_MS`], then expires. Money KOMOJU reports later is still
/// recorded (a late capture) and, if the unit went to someone else, refunded.
pub async fn end_stale(komoju: &Komoju, db: &Db, id: i64, now: i64) -> AppResult<Payment> {
    let payment = payments::by_id(db, id).await?;
    if payment.view.status != crate::domain::payment::PaymentStatus::Pending || payment.view.deadline_at > now {
        return Ok(payment);
    }
    let credentials = komoju.credentials(db, payment.account_id).await?;
    if let (Some(session_id), Some(credentials)) = (payment.provider_session.clone(), credentials) {
        match komoju.session(&credentials.secret_key, &session_id).await {
            Ok(Session { payment: Some(theirs), .. }) => {
                let followed = follow(db, &payment, &theirs, "KOMOJU session ended").await?;
                refund_if_unwanted(komoju, db, &followed);
                if followed.view.status != crate::domain::payment::PaymentStatus::Pending {
                    return Ok(followed);
                }
            }
            Ok(session) if session.status == "cancelled" => {
                let facts = Facts { provider_settled: true, note: Some("KOMOJU session cancelled".into()), ..Facts::default() };
                return payments::transition(db, id, crate::domain::payment::Transition::Cancel, facts).await;
            }
            Ok(_) => {}
            Err(e) if now < payment.view.deadline_at + STALE_GRACE_MS => return Err(e),
            Err(e) => tracing::warn!(payment = %payment.view.public_id, error = %e, "KOMOJU unreachable past the grace period; ending the attempt"),
        }
    }
    let facts = Facts { note: Some("KOMOJU session lifetime passed".into()), ..Facts::default() };
    payments::transition(db, id, crate::domain::payment::Transition::Expire, facts).await
}

/// Every `every`: ends stale live attempts and retries due automatic refunds.
/// Safe on several servers at once (compare-and-set transitions, KOMOJU's
/// idempotency keys).
pub fn spawn_live_job(komoju: Komoju, db: Db, every: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            live_tick(&komoju, &db, now_ms()).await;
        }
    });
}

/// One round of [`spawn_live_job`] (tests call it directly).
pub async fn live_tick(komoju: &Komoju, db: &Db, now: i64) {
    match payments::live_attempts_due(db, now, 100).await {
        Ok(ids) => {
            for id in ids {
                match end_stale(komoju, db, id, now).await {
                    Ok(_) | Err(AppError::Conflict(_)) => {}
                    Err(e) => tracing::debug!(id, error = %e, "stale live attempt not ended yet"),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not list stale live attempts; retrying next tick"),
    }
    match payments::auto_refunds_due(db, now, 50).await {
        Ok(ids) => {
            for id in ids {
                let _ = refund_unwanted(komoju, db, id).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not list due automatic refunds; retrying next tick"),
    }
}

/// Records KOMOJU's dispute news on `payment`: a charge-back takes the money
/// out of the captured figures. Safe to call again with the same news.
pub async fn follow_dispute(db: &Db, payment: &Payment, theirs: &ProviderPayment, news: DisputeNews, note: &str) -> AppResult<Payment> {
    let ours = payment.state()?;
    match news.step(&ours, payment.view.currency.code(), theirs) {
        Ok(None) => Ok(payment.clone()),
        Ok(Some(step)) => {
            let facts = Facts { provider_ref: Some(theirs.id.clone()), provider_settled: true, note: Some(note.to_owned()), ..Facts::default() };
            match payments::transition(db, payment.id, step, facts).await {
                Ok(moved) => Ok(moved),
                // A concurrent delivery recorded it first.
                Err(AppError::Conflict(_)) => payments::by_id(db, payment.id).await,
                Err(e) => Err(e),
            }
        }
        Err(e) => {
            tracing::error!(payment = %payment.view.public_id, provider_payment = %theirs.id, ?news, error = %e, "KOMOJU dispute news needs a person");
            Err(AppError::Conflict(e.to_string()))
        }
    }
}

/// Whether a webhook delivery (`X-Komoju-ID`) already took effect.
pub async fn delivery_seen(db: &Db, account_id: i64, delivery_id: &str) -> AppResult<bool> {
    let row = sqlx::query("SELECT 1 FROM komoju_webhook_deliveries WHERE account_id = $1 AND delivery_id = $2")
        .bind(account_id)
        .bind(delivery_id.to_owned())
        .fetch_optional(db.pool())
        .await?;
    Ok(row.is_some())
}

/// Records a delivery that took effect, so its retries are answered at once.
pub async fn record_delivery(db: &Db, account_id: i64, delivery_id: &str, event: &str) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO komoju_webhook_deliveries (account_id, delivery_id, event, received_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, delivery_id) DO NOTHING",
    )
    .bind(account_id)
    .bind(delivery_id.to_owned())
    .bind(event.to_owned())
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        use hmac::{Hmac, Mac};
        let body = br#"{"type":"payment.captured"}"#;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"whsec").unwrap();
        mac.update(body);
        let good = hex::encode(mac.finalize().into_bytes());
        assert!(signature_valid("whsec", body, &good));
        assert!(signature_valid("whsec", body, &good.to_uppercase()));
        assert!(!signature_valid("other", body, &good));
        assert!(!signature_valid("whsec", br#"{"type":"payment.refunded"}"#, &good));
        assert!(!signature_valid("whsec", body, ""));
        assert!(!signature_valid("whsec", body, "zz"));
        assert!(!signature_valid("whsec", body, &good[..10]));
    }

    #[test]
    fn payment_objects() {
        let p = parse_payment(&json!({"id": "pay1", "status": "captured", "amount": 1200, "currency": "JPY", "amount_refunded": 200}))
            .unwrap();
        assert_eq!((p.status, p.amount, p.refunded), (ProviderStatus::Captured, 1200, 200));
        let p = parse_payment(&json!({"id": "pay1", "status": "captured", "amount": 1200, "currency": "JPY",
            "refunds": [{"amount": 100}, {"amount": 50}]}))
        .unwrap();
        assert_eq!(p.refunded, 150);
        assert!(parse_payment(&json!({"id": "pay1", "status": "weird", "amount": 1, "currency": "JPY"})).is_none());
        assert!(parse_payment(&json!({"status": "captured", "amount": 1, "currency": "JPY"})).is_none());
    }

    #[test]
    fn credentials_as_typed() {
        assert!(parse_secret_key(" sk_live_abcdefgh12345678 ").is_ok());
        assert!(parse_secret_key("sk_test_abcdefgh12345678").is_err());
        assert!(parse_secret_key("sk_live_abc def").is_err());
        assert!(parse_secret_key("").is_err());
        assert!(parse_webhook_secret("whsec-123456").is_ok());
        assert!(parse_webhook_secret("short").is_err());
        assert!(parse_webhook_secret("has space inside").is_err());
    }
}

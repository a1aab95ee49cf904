//! The live-mode connector: each merchant's KOMOJU account, its hosted
//! checkout sessions, refunds and signed webhooks.
//!
//! KOMOJU is the source of truth for live payments. We create a session when
//! the customer submits (with our attempt's idempotency token as
//! `X-KOMOJU-IDEMPOTENCY`, so a retried submit finds the same session), and
//! follow what KOMOJU reports — on the customer's return and by webhook —
//! with [`crate::server::payments::follow`]. This module only speaks to
//! KOMOJU; what its answers mean for our payments lives in `payments::live`.

use super::db::{now_ms, Db};
use super::secrets::SecretBox;
use crate::domain::provider::{ProviderPayment, ProviderStatus};
use crate::error::{AppError, AppResult};
use serde_json::{json, Value};
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
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT secret_key_hint, updated_at FROM komoju_accounts WHERE account_id = $1").bind(account_id).fetch_optional(db.pool()).await?;
        Ok(row.map(|(secret_key_hint, updated_at)| Settings { secret_key_hint, updated_at }))
    }

    pub async fn credentials(&self, db: &Db, account_id: i64) -> AppResult<Option<Credentials>> {
        let Some((secret_key, webhook_secret)) =
            sqlx::query_as::<_, (String, String)>("SELECT secret_key_sealed, webhook_secret_sealed FROM komoju_accounts WHERE account_id = $1")
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
        Ok(Some(Credentials { secret_key: open(secret_key, "secret-key")?, webhook_secret: open(webhook_secret, "webhook-secret")? }))
    }

    // ---- KOMOJU's API -------------------------------------------------------

    async fn call(&self, request: reqwest::RequestBuilder, secret_key: &str, what: &str) -> AppResult<Value> {
        let response = request.basic_auth(secret_key, Some("")).send().await.map_err(|e| unavailable(what, e))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| unavailable(what, e))?;
        if status.is_success() {
            return Ok(body);
        }
        let message =
            body.pointer("/error/message").or_else(|| body.get("message")).and_then(Value::as_str).unwrap_or("").chars().take(300).collect::<String>();
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
        let request = self.http.post(format!("{}/api/v1/sessions", self.base_url)).header("X-KOMOJU-IDEMPOTENCY", idempotency_key).json(body);
        let value = self.call(request, secret_key, "session creation").await?;
        parse_session(&value)
            .filter(|s| s.url.starts_with("https://") || s.url.starts_with("http://"))
            .ok_or_else(|| unavailable("session creation", "no session url in the answer"))
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
    pub async fn refund(
        &self,
        secret_key: &str,
        payment_id: &str,
        amount: i64,
        description: Option<&str>,
        idempotency_key: &str,
    ) -> AppResult<ProviderPayment> {
        let mut body = json!({ "amount": amount });
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        let request =
            self.http.post(format!("{}/api/v1/payments/{payment_id}/refund", self.base_url)).header("X-KOMOJU-IDEMPOTENCY", idempotency_key).json(&body);
        let value = self.call(request, secret_key, "refund").await?;
        parse_payment(&value).ok_or_else(|| unavailable("refund", "unreadable payment"))
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
        let p = parse_payment(&json!({"id": "pay1", "status": "captured", "amount": 1200, "currency": "JPY", "amount_refunded": 200})).unwrap();
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

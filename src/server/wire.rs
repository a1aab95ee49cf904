//! What the REST API sends and takes, and what merchants' webhooks carry, as
//! types: the JSON and the OpenAPI document are both derived from these, so
//! they cannot disagree (one module, used by `api` and the webhook outbox).

use crate::domain::card::{CardBrand, KonbiniStore};
use crate::domain::fields::FieldError;
use crate::domain::link::{parse_rfc3339, rfc3339, rules, Availability, FieldResult, LinkDetails, LinkPatch, LinkStatus, LinkView, NewLink};
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{DeclineReason, Method, PaymentEvent, PaymentStatus, PaymentView, SalesStats};
use crate::domain::webhook::EventType;
use crate::domain::{Locale, Mode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A payment link: a product or service customers pay for at `url`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PaymentLink)]
pub struct PaymentLinkObject {
    /// Always `payment_link`.
    #[schema(example = "payment_link")]
    pub object: &'static str,
    pub id: i64,
    /// The checkout page customers open (also what the QR code holds).
    pub url: String,
    pub mode: Mode,
    pub name: String,
    pub description: String,
    /// In the currency's smallest unit (yen for JPY, cents for USD).
    pub amount: i64,
    pub currency: Currency,
    /// The checkout page's language.
    pub language: Locale,
    pub status: LinkStatus,
    /// Whether the link takes payments now, and if not, why.
    pub availability: Availability,
    /// At most this many captured payments, if set.
    pub usage_limit: Option<i64>,
    /// RFC 3339 UTC; no payments after this time.
    pub expires_at: Option<String>,
    pub captured_count: i64,
    pub image_url: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
}

impl PaymentLinkObject {
    pub fn new(link: &LinkView, public_url: &str) -> PaymentLinkObject {
        PaymentLinkObject {
            object: "payment_link",
            id: link.id,
            url: link.url.clone(),
            mode: link.mode,
            name: link.name.clone(),
            description: link.description.clone(),
            amount: link.amount,
            currency: link.currency,
            language: link.language,
            status: link.status,
            availability: link.availability,
            usage_limit: link.usage_limit,
            expires_at: link.expires_at.map(rfc3339),
            captured_count: link.captured_count,
            image_url: link.image_url.as_ref().map(|path| format!("{public_url}{path}")),
            created_at: rfc3339(link.created_at),
        }
    }
}

/// One page of links; pass `next_cursor` as `cursor` for the next one.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentLinkList {
    /// Always `list`.
    #[schema(example = "list")]
    pub object: &'static str,
    pub data: Vec<PaymentLinkObject>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl PaymentLinkList {
    pub fn new(data: Vec<PaymentLinkObject>, next_cursor: Option<String>) -> PaymentLinkList {
        PaymentLinkList { object: "list", has_more: next_cursor.is_some(), data, next_cursor }
    }
}

/// One page of payments; pass `next_cursor` as `cursor` for the next one.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentList {
    /// Always `list`.
    #[schema(example = "list")]
    pub object: &'static str,
    pub data: Vec<PaymentObject>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl PaymentList {
    pub fn new(data: Vec<PaymentObject>, next_cursor: Option<String>) -> PaymentList {
        PaymentList { object: "list", has_more: next_cursor.is_some(), data, next_cursor }
    }
}

/// The link's Total Sales Summary.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PaymentLinkSummary)]
pub struct SummaryObject {
    /// Always `payment_link_summary`.
    #[schema(example = "payment_link_summary")]
    pub object: &'static str,
    pub payment_link: i64,
    pub currency: Currency,
    /// Captured minus refunded and charged-back amounts, in minor units.
    pub captured_amount: i64,
    /// Captured payments that are not refunded or charged back.
    pub captured_payments: i64,
    /// Attempts started but not completed (abandoned, failed, expired).
    pub pending_payments: i64,
    /// Fully refunded payments.
    pub refunded_payments: i64,
}

impl SummaryObject {
    pub fn new(link: &LinkView, stats: &SalesStats) -> SummaryObject {
        SummaryObject {
            object: "payment_link_summary",
            payment_link: link.id,
            currency: link.currency,
            captured_amount: stats.captured_amount,
            captured_payments: stats.captured_payments,
            pending_payments: stats.pending_payments,
            refunded_payments: stats.refunded_payments,
        }
    }
}

/// What a payment keeps of the card: never the number or the CVC.
#[derive(Debug, Serialize, ToSchema)]
pub struct Card {
    pub brand: CardBrand,
    pub last4: String,
}

/// A customer's payment (or attempt) on a link.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Payment)]
pub struct PaymentObject {
    /// Always `payment`.
    #[schema(example = "payment")]
    pub object: &'static str,
    pub id: String,
    /// The link's id.
    pub payment_link: i64,
    pub mode: Mode,
    pub method: Method,
    pub status: PaymentStatus,
    pub amount: i64,
    pub refunded_amount: i64,
    pub currency: Currency,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub card: Option<Card>,
    pub konbini_store: Option<KonbiniStore>,
    pub failure_reason: Option<DeclineReason>,
    pub created_at: String,
    pub captured_at: Option<String>,
    /// The payment's history, oldest first (only when one payment is retrieved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventObject>>,
}

impl PaymentObject {
    pub fn new(p: &PaymentView) -> PaymentObject {
        PaymentObject {
            object: "payment",
            id: p.public_id.clone(),
            payment_link: p.link_id,
            mode: p.mode,
            method: p.method,
            status: p.status,
            amount: p.amount,
            refunded_amount: p.refunded_amount,
            currency: p.currency,
            customer_email: p.customer_email.clone(),
            customer_name: p.customer_name.clone(),
            card: p.card.as_ref().map(|c| Card { brand: c.brand, last4: c.last4.clone() }),
            konbini_store: p.konbini_store,
            failure_reason: p.failure_reason,
            created_at: rfc3339(p.created_at),
            captured_at: p.captured_at.map(rfc3339),
            events: None,
        }
    }
}

/// One step of a payment's history.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PaymentEvent)]
pub struct EventObject {
    /// e.g. `created`, `captured`, `refund`.
    #[serde(rename = "type")]
    pub kind: String,
    pub from_status: Option<PaymentStatus>,
    pub to_status: PaymentStatus,
    pub amount: Option<i64>,
    pub created_at: String,
}

impl EventObject {
    pub fn new(e: &PaymentEvent) -> EventObject {
        EventObject { kind: e.kind.clone(), from_status: e.from_status, to_status: e.to_status, amount: e.amount, created_at: rfc3339(e.created_at) }
    }
}

/// An image stored for the merchant, to set on links by its `id`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Image)]
pub struct ImageObject {
    /// Always `image`.
    #[schema(example = "image")]
    pub object: &'static str,
    /// The SHA-256 of the file: pass it as a link's `image`.
    pub id: String,
    pub url: String,
}

/// A `multipart/form-data` upload.
#[derive(Debug, ToSchema)]
pub struct ImageUpload {
    /// The JPEG or PNG file, at most 2 MB.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// The one error shape every failure has.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `invalid_request_error`, `authentication_error`, `permission_error`,
    /// `idempotency_error`, `rate_limit_error` or `api_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Stable, machine-readable, e.g. `amount_below_minimum`.
    pub code: String,
    /// For people; may change.
    pub message: String,
    /// The request field at fault, if one is.
    pub param: Option<String>,
}

/// The editable fields of a link. On creation `name`, `amount` and `currency`
/// are required; on update every field is optional and `amount`/`currency`
/// cannot change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkFields {
    /// Unique among the merchant's links in this mode.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Shown on the checkout page; include what the Specified Commercial
    /// Transactions Act asks for (quantity, tax, delivery, cancellation).
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// In the currency's smallest unit; each currency has its own minimum
    /// and maximum (JPY 50 to 9,999,999).
    #[schema(minimum = 1)]
    #[serde(default, deserialize_with = "whole_number")]
    pub amount: Option<i64>,
    /// ISO 4217 code; fixed once the link exists.
    #[schema(value_type = Option<Currency>)]
    pub currency: Option<String>,
    /// The checkout page's language (default `ja`).
    #[schema(value_type = Option<Locale>)]
    pub language: Option<String>,
    /// An inactive link takes no payments, even from pages already open (default `active`).
    #[schema(value_type = Option<LinkStatus>)]
    pub status: Option<String>,
    /// At most this many captured payments, then the link is sold out.
    #[schema(minimum = 1)]
    #[serde(default, deserialize_with = "whole_number")]
    pub usage_limit: Option<i64>,
    /// RFC 3339 with any offset (`2031-01-02T12:04:05+09:00`), in the future;
    /// answered in UTC. An empty string removes the expiry.
    pub expires_at: Option<String>,
    /// The `id` of an image uploaded with `POST /api/v1/images`; empty removes the image.
    #[schema(pattern = "^([0-9a-f]{64})?$")]
    pub image: Option<String>,
}

impl LinkFields {
    /// `POST /payment_links`: name, amount and currency are required; the
    /// language defaults to Japanese, the status to active.
    pub fn new_link(&self, now_ms: i64) -> FieldResult<NewLink> {
        let amount = self.amount.ok_or(("amount", FieldError::Required))?;
        let currency = rules::currency(self.currency.as_deref().ok_or(("currency", FieldError::Required))?)?;
        let price = Money::from_minor(amount, currency).map_err(|e| ("amount", e.field_error(currency)))?;
        let expires_at = self.expiry(now_ms)?.flatten();
        let details = LinkDetails {
            name: rules::name(self.name.as_deref().unwrap_or_default())?,
            description: rules::description(self.description.as_deref().unwrap_or_default())?,
            language: self.language.as_deref().map(rules::language).transpose()?.flatten().unwrap_or(Locale::Ja),
            status: rules::status(self.status.as_deref().unwrap_or_default())?,
            usage_limit: self.usage_limit.map(rules::usage_limit).transpose()?,
            expires_at,
            image: rules::image(self.image.as_deref().unwrap_or_default())?,
        };
        Ok(NewLink { price, details })
    }

    /// `POST /payment_links/{id}`: what is sent changes, the rest stays.
    pub fn patch(&self, now_ms: i64) -> FieldResult<LinkPatch> {
        Ok(LinkPatch {
            expires_at: self.expiry(now_ms)?,
            name: self.name.as_deref().map(rules::name).transpose()?,
            description: self.description.as_deref().map(rules::description).transpose()?,
            language: self.language.as_deref().map(rules::language).transpose()?.flatten(),
            status: self.status.as_deref().map(rules::status).transpose()?,
            usage_limit: self.usage_limit.map(rules::usage_limit).transpose()?.map(Some),
            image: self.image.as_deref().map(rules::image).transpose()?,
            amount: self.amount,
            currency: self.currency.as_deref().map(rules::currency).transpose()?,
        })
    }

    /// `None`: not sent; `Some(None)`: `""`, no expiry.
    fn expiry(&self, now_ms: i64) -> FieldResult<Option<Option<i64>>> {
        match self.expires_at.as_deref() {
            None => Ok(None),
            Some("") => Ok(Some(None)),
            Some(text) => {
                let at = parse_rfc3339(text).ok_or(("expires_at", FieldError::DateInvalid))?;
                Ok(Some(Some(rules::expiry(at, now_ms)?)))
            }
        }
    }
}

/// A refund; without `amount` everything left is refunded.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units, at most what is left to refund.
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "whole_number")]
    pub amount: Option<i64>,
    /// Kept with the refund; shown in the dashboard.
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct LinkListQuery {
    /// Part of the product name.
    pub q: String,
    /// Only links with this status.
    #[param(value_type = Option<LinkStatus>)]
    pub status: Option<String>,
    /// Links per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct PaymentListQuery {
    /// A payment link's id.
    #[param(value_type = Option<i64>)]
    pub link: Option<String>,
    #[param(value_type = Option<PaymentStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<Method>)]
    pub method: Option<String>,
    /// `YYYY-MM-DD` (Japan time), first day included.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// `YYYY-MM-DD` (Japan time), last day included.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// A payment id or part of the customer's email.
    pub q: String,
    /// Payments per page, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: String,
}

/// An integer, also when written `12.0` (JSON Schema counts that as an
/// integer, and so do some JSON encoders); `12.5` is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else { return Ok(None) };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
        _ => Err(D::Error::custom(format!("{number} is not a whole number in range"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_only() {
        let amount = |json: &str| serde_json::from_str::<RefundRequest>(json).map(|r| r.amount);
        assert_eq!(amount(r#"{"amount": 500}"#).unwrap(), Some(500));
        assert_eq!(amount(r#"{"amount": 500.0}"#).unwrap(), Some(500));
        assert_eq!(amount(r#"{"amount": null}"#).unwrap(), None);
        assert_eq!(amount(r#"{}"#).unwrap(), None);
        for bad in [r#"{"amount": 500.5}"#, r#"{"amount": 1e300}"#, r#"{"amount": "500"}"#, r#"{"amount": 18446744073709551615}"#] {
            assert!(amount(bad).is_err(), "{bad}");
        }
    }
}

/// A webhook delivery about a payment (`payment.*` events).
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentWebhook {
    /// `evt_…`: the same on every retry and re-send; drop repeats.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub mode: Mode,
    /// When the event happened (RFC 3339 UTC).
    pub created_at: String,
    /// The payment as it was then.
    pub data: PaymentObject,
}

/// A webhook delivery about a payment link (`payment_link.*` events).
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentLinkWebhook {
    /// `evt_…`: the same on every retry and re-send; drop repeats.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub mode: Mode,
    /// When the event happened (RFC 3339 UTC).
    pub created_at: String,
    /// The link as it was then.
    pub data: PaymentLinkObject,
}

/// The dashboard's "send test event".
#[derive(Debug, Serialize, ToSchema)]
pub struct PingWebhook {
    pub id: String,
    /// Always `ping`.
    #[serde(rename = "type")]
    pub kind: EventType,
    pub mode: Mode,
    pub created_at: String,
    pub data: PingObject,
}

/// The endpoint a ping was sent to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PingObject {
    /// Always `webhook_endpoint`.
    #[schema(example = "webhook_endpoint")]
    pub object: &'static str,
    /// `we_…`
    pub id: String,
}

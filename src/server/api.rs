//! The merchant REST API (`/api/v1`), authenticated with a secret key per mode.
//! It calls the same service functions as the dashboard's `#[server]`
//! functions: no business rule lives here, only the translation between JSON
//! and those functions.

use super::auth::{self, Account};
use super::{links, payments, AppState};
use crate::domain::fields::FieldError;
use crate::domain::link::{rfc3339, rfc3339_to_input, LinkInput, LinkStatus, LinkView};
use crate::domain::money::{Currency, Money};
use crate::error::AppError;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, State};
use axum::http::{request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/payment_links", get(list_links).post(create_link))
        .route("/api/v1/payment_links/{id}", get(get_link).post(update_link))
        .route("/api/v1/payment_links/{id}/deactivate", post(deactivate_link))
        .route("/api/v1/payment_links/{id}/summary", get(link_summary))
        .route("/api/v1/payments", get(list_payments))
        .route("/api/v1/payments/{id}", get(get_payment))
        .route("/api/v1/payments/{id}/refund", post(refund_payment))
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(|| async { ApiError::new(StatusCode::NOT_FOUND, "invalid_request_error", "unknown_endpoint", "No such endpoint.") }),
        )
}

/// The stable error shape: `{ "error": { "type", "code", "message", "param" } }`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    code: String,
    message: String,
    param: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, code: &str, message: &str) -> ApiError {
        ApiError { status, kind, code: code.to_owned(), message: message.to_owned(), param: None }
    }

    fn bad_request(code: &str, message: &str) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", code, message)
    }

    fn invalid(param: &str, code: &str, message: &str) -> ApiError {
        ApiError { param: Some(param.to_owned()), ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request_error", code, message) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "type": self.kind, "code": self.code, "message": self.message, "param": self.param } });
        (self.status, Json(body)).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // "error-amount-below-minimum" → "amount_below_minimum"
        let code = error.message_id().trim_start_matches("error-").replace('-', "_");
        let message = error.to_string();
        let kind = match status.as_u16() {
            401 => "authentication_error",
            403 => "permission_error",
            429 => "rate_limit_error",
            500..=599 => "api_error",
            _ => "invalid_request_error",
        };
        ApiError { status, kind, code, message, param: error.field().map(|f| f.to_owned()) }
    }
}

/// The merchant a request's secret key belongs to, in the key's mode.
pub struct ApiAccount(pub Account);

impl FromRequestParts<AppState> for ApiAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ApiAccount, ApiError> {
        let unauthorized = |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "authentication_error", "invalid_api_key", message);
        let header = parts.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let key = header.strip_prefix("Bearer ").map(str::trim).unwrap_or_default();
        if key.is_empty() {
            return Err(unauthorized("Send your secret key as `Authorization: Bearer sk_test_…`."));
        }
        match auth::account_by_api_key(&state.db, key).await {
            Ok(Some(account)) => Ok(ApiAccount(account)),
            Ok(None) => Err(unauthorized("This API key is unknown or revoked.")),
            Err(e) => Err(e.into()),
        }
    }
}

/// A JSON body, with malformed JSON answered in the API's error shape.
pub struct ApiJson<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<ApiJson<T>, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::bad_request("invalid_json", &rejection.body_text())),
        }
    }
}

fn link_object(link: &LinkView, public_url: &str) -> Value {
    json!({
        "object": "payment_link",
        "id": link.id,
        "url": link.url,
        "mode": link.mode,
        "name": link.name,
        "description": link.description,
        "amount": link.amount,
        "currency": link.currency.code(),
        "language": link.language.code(),
        "status": link.status.as_str(),
        "availability": link.availability,
        "usage_limit": link.usage_limit,
        "expires_at": link.expires_at.map(rfc3339),
        "captured_count": link.captured_count,
        "image_url": link.image_url.as_ref().map(|path| format!("{public_url}{path}")),
        "created_at": rfc3339(link.created_at),
    })
}

/// Editable fields of a link, as the API takes them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkFieldsJson {
    name: Option<String>,
    description: Option<String>,
    /// Minor units of `currency` (creation only).
    amount: Option<i64>,
    currency: Option<String>,
    language: Option<String>,
    status: Option<String>,
    usage_limit: Option<i64>,
    expires_at: Option<String>,
    /// The `sha` of an image uploaded in the dashboard.
    image: Option<String>,
}

impl LinkFieldsJson {
    /// Overlays these fields on `base` (the link as it is, or empty for a new one).
    fn onto(self, mut base: LinkInput) -> Result<LinkInput, ApiError> {
        if let Some(name) = self.name {
            base.name = name;
        }
        if let Some(description) = self.description {
            base.description = description;
        }
        if let Some(code) = self.currency {
            base.currency = code;
        }
        if let Some(amount) = self.amount {
            if base.currency.trim().is_empty() {
                return Err(AppError::invalid("currency", FieldError::Required).into());
            }
            let currency: Currency = base
                .currency
                .parse()
                .map_err(|_| ApiError::from(AppError::invalid("currency", FieldError::NotAllowed)))?;
            base.amount = Money::from_minor(amount, currency)
                .map(Money::to_input)
                .map_err(|e| ApiError::from(AppError::invalid("amount", e.field_error(currency))))?;
        }
        if let Some(language) = self.language {
            base.language = language;
        }
        if let Some(status) = self.status {
            base.status = status;
        }
        if let Some(limit) = self.usage_limit {
            base.usage_limit = limit.to_string();
        }
        if let Some(at) = self.expires_at {
            base.expires_at = rfc3339_to_input(&at)
                .ok_or_else(|| ApiError::invalid("expires_at", "date_invalid", "Use an RFC 3339 UTC time, e.g. 2026-12-31T15:00:00Z."))?;
            base.tz_offset = "0".into();
        }
        if let Some(image) = self.image {
            base.image = image;
        }
        Ok(base)
    }
}

fn public_url(state: &AppState) -> &str {
    &state.config.public_url
}

async fn create_link(State(state): State<AppState>, ApiAccount(account): ApiAccount, ApiJson(body): ApiJson<LinkFieldsJson>) -> Result<Response, ApiError> {
    if body.amount.is_none() {
        return Err(AppError::invalid("amount", FieldError::Required).into());
    }
    let input = body.onto(LinkInput { language: "ja".into(), ..LinkInput::default() })?;
    let link = links::create(&state.db, public_url(&state), &account, &input).await?;
    Ok((StatusCode::CREATED, Json(link_object(&link, public_url(&state)))).into_response())
}

async fn get_link(State(state): State<AppState>, ApiAccount(account): ApiAccount, Path(id): Path<i64>) -> Result<Json<Value>, ApiError> {
    let link = links::get(&state.db, public_url(&state), &account, id).await?;
    Ok(Json(link_object(&link, public_url(&state))))
}

async fn update_link(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<LinkFieldsJson>,
) -> Result<Json<Value>, ApiError> {
    // Amount and currency stay as they are: `links::update` refuses a change.
    let current = links::get(&state.db, public_url(&state), &account, id).await?;
    let input = body.onto(links::input_of(&current))?;
    let link = links::update(&state.db, public_url(&state), &account, id, &input).await?;
    Ok(Json(link_object(&link, public_url(&state))))
}

async fn deactivate_link(State(state): State<AppState>, ApiAccount(account): ApiAccount, Path(id): Path<i64>) -> Result<Json<Value>, ApiError> {
    let link = links::set_status(&state.db, public_url(&state), &account, id, LinkStatus::Inactive).await?;
    Ok(Json(link_object(&link, public_url(&state))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    /// Part of the product name.
    q: String,
    /// `next_cursor` of the previous page.
    cursor: String,
}

async fn list_links(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", &e.body_text()))?;
    let page = links::list(&state.db, public_url(&state), &account, &query.q, Some(&query.cursor)).await?;
    Ok(Json(json!({
        "object": "list",
        "data": page.links.iter().map(|l| link_object(l, public_url(&state))).collect::<Vec<_>>(),
        "has_more": page.next.is_some(),
        "next_cursor": page.next,
    })))
}

async fn link_summary(State(state): State<AppState>, ApiAccount(account): ApiAccount, Path(id): Path<i64>) -> Result<Json<Value>, ApiError> {
    let link = links::get(&state.db, public_url(&state), &account, id).await?;
    let stats = payments::sales(&state.db, link.id).await?;
    Ok(Json(json!({
        "object": "payment_link_summary",
        "payment_link": link.id,
        "currency": link.currency.code(),
        "captured_amount": stats.captured_amount,
        "captured_payments": stats.captured_payments,
        "pending_payments": stats.pending_payments,
        "refunded_payments": stats.refunded_payments,
    })))
}

fn payment_object(p: &crate::domain::payment::PaymentView) -> Value {
    json!({
        "object": "payment",
        "id": p.public_id,
        "payment_link": p.link_id,
        "mode": p.mode,
        "method": p.method.as_str(),
        "status": p.status.as_str(),
        "amount": p.amount,
        "refunded_amount": p.refunded_amount,
        "currency": p.currency.code(),
        "customer_email": p.customer_email,
        "customer_name": p.customer_name,
        "card": p.card.as_ref().map(|c| json!({ "brand": c.brand.as_str(), "last4": c.last4 })),
        "konbini_store": p.konbini_store.map(|s| s.as_str()),
        "failure_reason": p.failure_reason.map(|r| r.as_str()),
        "created_at": rfc3339(p.created_at),
        "captured_at": p.captured_at.map(rfc3339),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PaymentsQuery {
    /// A payment link id.
    link: String,
    status: String,
    method: String,
    /// `YYYY-MM-DD` (Japan time), first and last day included.
    from: String,
    to: String,
    /// A payment id or part of the customer's email.
    q: String,
    cursor: String,
}

async fn list_payments(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    query: Result<Query<PaymentsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    use crate::domain::transactions::{TransactionQuery, PAGE_SIZE};
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", &e.body_text()))?;
    let filter = TransactionQuery { link: q.link, status: q.status, method: q.method, from: q.from, to: q.to, q: q.q, after: q.cursor }
        .parse()
        .map_err(|(field, e)| ApiError::from(AppError::invalid(field, e)))?;
    let (rows, next) = super::transactions::list(&state.db, &account, &filter, PAGE_SIZE).await?;
    Ok(Json(json!({
        "object": "list",
        "data": rows.iter().map(payment_object).collect::<Vec<_>>(),
        "has_more": next.is_some(),
        "next_cursor": next.map(|c| c.encode()),
    })))
}

async fn get_payment(State(state): State<AppState>, ApiAccount(account): ApiAccount, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let payment = payments::owned(&state.db, &account, &id).await?;
    let events = payments::events(&state.db, payment.id).await?;
    let mut object = payment_object(&payment.view);
    object["events"] = events
        .iter()
        .map(|e| {
            json!({
                "type": e.kind,
                "from_status": e.from_status.map(|s| s.as_str()),
                "to_status": e.to_status.as_str(),
                "amount": e.amount,
                "created_at": rfc3339(e.created_at),
            })
        })
        .collect();
    Ok(Json(object))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RefundJson {
    /// Minor units; absent refunds everything that is left.
    amount: Option<i64>,
    reason: String,
}

async fn refund_payment(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    // An empty body refunds everything that is left.
    let RefundJson { amount, reason } = if body.iter().all(u8::is_ascii_whitespace) {
        RefundJson::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request("invalid_json", &e.to_string()))?
    };
    let payment = payments::owned(&state.db, &account, &id).await?;
    let amount = match amount {
        Some(minor) if minor <= 0 => return Err(AppError::invalid("amount", FieldError::AmountMalformed).into()),
        Some(minor) => crate::domain::money::major_units(minor, payment.view.currency, false),
        None => String::new(),
    };
    let action = payments::MerchantAction::Refund { amount, reason };
    let refunded = payments::merchant_action(&state.db, &state.komoju, &account, &id, action).await?;
    Ok(Json(payment_object(&refunded.view)))
}

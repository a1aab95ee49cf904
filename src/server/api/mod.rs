//! The merchant REST API (`/api/v1`), authenticated with a secret key per mode.
//! It calls the same service functions as the dashboard's `#[server]`
//! functions: no business rule lives here, only the translation between JSON
//! and those functions. Every authenticated request passes [`gate`]: the key,
//! then its rate limit, then (for a POST with `Idempotency-Key`) the replay
//! store.

mod idempotency;
mod openapi;
mod rate_limit;

use super::auth::{self, Account, Merchant};
use super::db::now_ms;
use super::{images, links, payments, AppState};
use crate::domain::fields::FieldError;
use crate::domain::link::LinkStatus;
use crate::domain::refund::RefundAmount;
use crate::error::AppError;
use crate::server::wire::*;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, State};
use axum::http::{request::Parts, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

pub use idempotency::purge as purge_idempotency_keys;
pub use openapi::ApiDoc;

pub fn routes(state: AppState) -> Router<AppState> {
    let authenticated = Router::new()
        .route("/api/v1/payment_links", get(list_links).post(create_link))
        .route("/api/v1/payment_links/{id}", get(get_link).post(update_link))
        .route("/api/v1/payment_links/{id}/deactivate", post(deactivate_link))
        .route("/api/v1/payment_links/{id}/summary", get(link_summary))
        .route("/api/v1/payments", get(list_payments))
        .route("/api/v1/payments/{id}", get(get_payment))
        .route("/api/v1/payments/{id}/refund", post(refund_payment))
        .route("/api/v1/images", post(upload_image))
        .route_layer(axum::middleware::from_fn_with_state(state, gate));
    Router::new().merge(authenticated).route("/api/v1/openapi.json", get(openapi::document)).route(
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

    fn body(&self) -> ErrorBody {
        ErrorBody { error: ErrorDetail { kind: self.kind, code: self.code.clone(), message: self.message.clone(), param: self.param.clone() } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        let status = match &error {
            AppError::Invalid { error: FieldError::ImageTooLarge, .. } => StatusCode::PAYLOAD_TOO_LARGE,
            other => StatusCode::from_u16(other.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        };
        // "error-amount-below-minimum" → "amount_below_minimum"
        let code = error.message_id().trim_start_matches("error-").replace('-', "_");
        let message = match &error {
            // The API's times are RFC 3339, not the form's local time.
            AppError::Invalid { error: FieldError::DateInvalid, .. } => {
                "Use an RFC 3339 time, e.g. 2026-12-31T15:00:00Z or 2027-01-01T00:00:00+09:00.".to_owned()
            }
            other => other.to_string(),
        };
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

/// The caller a request's secret key belongs to: the merchant, in the key's mode.
#[derive(Clone)]
struct Caller {
    account: Account,
    key_id: i64,
}

async fn authenticate(state: &AppState, parts: &Parts) -> Result<Caller, ApiError> {
    let unauthorized = |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "authentication_error", "invalid_api_key", message);
    let header = parts.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let key = header.strip_prefix("Bearer ").map(str::trim).unwrap_or_default();
    if key.is_empty() {
        return Err(unauthorized("Send your secret key as `Authorization: Bearer sk_test_…`."));
    }
    match auth::account_by_api_key(&state.db, key).await {
        Ok(Some((account, key_id))) => Ok(Caller { account, key_id }),
        Ok(None) => Err(unauthorized("This API key is unknown or revoked.")),
        Err(e) => Err(e.into()),
    }
}

/// Authenticates, counts the request against the key's rate limit, and makes
/// a POST with `Idempotency-Key` run once.
async fn gate(State(state): State<AppState>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match authenticate(&state, &parts).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    let window = match rate_limit::hit(&state.db, caller.key_id, state.config.api_rate_limit).await {
        Ok(window) => window,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !window.allowed() {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limited",
            &format!("Too many requests with this key: at most {} a second. Retry after the time in Retry-After.", window.limit),
        )
        .into_response();
        window.annotate(response.headers_mut());
        return response;
    }
    parts.extensions.insert(caller.clone());
    let idempotency_key = parts.headers.get("idempotency-key").cloned();
    let request = axum::extract::Request::from_parts(parts, body);
    let mut response = match idempotency_key {
        // Uploads are idempotent by content (the image's hash is its id).
        Some(key) if request.method() == Method::POST && request.uri().path() != "/api/v1/images" => {
            idempotency::run(&state.db, &caller.account, &key, request, next).await
        }
        _ => next.run(request).await,
    };
    window.annotate(response.headers_mut());
    response
}

/// The merchant a request's secret key belongs to, in the key's mode.
pub struct ApiAccount(pub Merchant);

impl FromRequestParts<AppState> for ApiAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ApiAccount, ApiError> {
        match parts.extensions.get::<Caller>() {
            Some(caller) => Ok(ApiAccount(Merchant::of(caller.account.clone())?)),
            None => Ok(ApiAccount(Merchant::of(authenticate(state, parts).await?.account)?)),
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
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::TooLarge.into()),
            Err(rejection) => Err(ApiError::bad_request("invalid_json", &rejection.body_text())),
        }
    }
}

/// A path parameter, with a malformed one answered in the API's error shape
/// (a link id that is not a number names no link: 404).
pub struct ApiPath<T>(T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ApiPath<T>, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(_) => Err(AppError::NotFound.into()),
        }
    }
}

/// Query parameters, with malformed ones answered in the API's error shape.
pub struct ApiQuery<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ApiQuery<T>, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(e) => Err(ApiError::bad_request("invalid_query", &e.body_text())),
        }
    }
}

fn page_size(limit: Option<u32>, default: usize) -> Result<usize, ApiError> {
    match limit {
        None => Ok(default),
        Some(n @ 1..=100) => Ok(n as usize),
        Some(_) => Err(ApiError::invalid("limit", "limit_out_of_range", "`limit` is 1 to 100.")),
    }
}

/// Create a payment link.
#[utoipa::path(post, path = "/api/v1/payment_links", tag = "Payment links", request_body = LinkFields,
    responses((status = 201, description = "The new link", body = PaymentLinkObject)))]
async fn create_link(State(state): State<AppState>, ApiAccount(account): ApiAccount, ApiJson(body): ApiJson<LinkFields>) -> Result<Response, ApiError> {
    let new_link = body.new_link(now_ms()).map_err(AppError::from)?;
    let link = links::create(state.ctx(), &account, &new_link).await?;
    Ok((StatusCode::CREATED, Json(PaymentLinkObject::new(&link, &state.config.public_url))).into_response())
}

/// Retrieve a payment link.
#[utoipa::path(get, path = "/api/v1/payment_links/{id}", tag = "Payment links", params(("id" = i64, Path)),
    responses((status = 200, description = "The link", body = PaymentLinkObject)))]
async fn get_link(State(state): State<AppState>, ApiAccount(account): ApiAccount, ApiPath(id): ApiPath<i64>) -> Result<Json<PaymentLinkObject>, ApiError> {
    let link = links::get(state.ctx(), &account, id).await?;
    Ok(Json(PaymentLinkObject::new(&link, &state.config.public_url)))
}

/// Update a payment link's editable fields; absent fields stay as they are.
#[utoipa::path(post, path = "/api/v1/payment_links/{id}", tag = "Payment links", params(("id" = i64, Path)), request_body = LinkFields,
    responses((status = 200, description = "The updated link", body = PaymentLinkObject)))]
async fn update_link(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<LinkFields>,
) -> Result<Json<PaymentLinkObject>, ApiError> {
    // Amount and currency stay as they are: `links::update` refuses a change.
    let patch = body.patch(now_ms()).map_err(AppError::from)?;
    let link = links::update(state.ctx(), &account, id, patch).await?;
    Ok(Json(PaymentLinkObject::new(&link, &state.config.public_url)))
}

/// Deactivate a payment link: it takes no more payments, even from pages already open.
#[utoipa::path(post, path = "/api/v1/payment_links/{id}/deactivate", tag = "Payment links", params(("id" = i64, Path)),
    responses((status = 200, description = "The link, inactive", body = PaymentLinkObject)))]
async fn deactivate_link(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PaymentLinkObject>, ApiError> {
    let link = links::set_status(state.ctx(), &account, id, LinkStatus::Inactive).await?;
    Ok(Json(PaymentLinkObject::new(&link, &state.config.public_url)))
}

/// List payment links, newest first.
#[utoipa::path(get, path = "/api/v1/payment_links", tag = "Payment links", params(LinkListQuery),
    responses((status = 200, description = "One page of links", body = PaymentLinkList)))]
async fn list_links(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    ApiQuery(query): ApiQuery<LinkListQuery>,
) -> Result<Json<PaymentLinkList>, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(other) => Some(LinkStatus::parse(other).ok_or_else(|| ApiError::from(AppError::invalid("status", FieldError::NotAllowed)))?),
    };
    let filter = links::LinkFilter { search: &query.q, status, limit: page_size(query.limit, links::PAGE_SIZE as usize)? as i64 };
    let page = links::list(state.ctx(), &account, &filter, Some(&query.cursor)).await?;
    let data = page.links.iter().map(|l| PaymentLinkObject::new(l, &state.config.public_url)).collect();
    Ok(Json(PaymentLinkList::new(data, page.next)))
}

/// A link's Total Sales Summary.
#[utoipa::path(get, path = "/api/v1/payment_links/{id}/summary", tag = "Payment links", params(("id" = i64, Path)),
    responses((status = 200, description = "The link's sales figures", body = SummaryObject)))]
async fn link_summary(State(state): State<AppState>, ApiAccount(account): ApiAccount, ApiPath(id): ApiPath<i64>) -> Result<Json<SummaryObject>, ApiError> {
    let link = links::get(state.ctx(), &account, id).await?;
    let stats = payments::sales(&state.db, link.id).await?;
    Ok(Json(SummaryObject::new(&link, &stats)))
}

/// List payments, newest first, with the Transactions page's filters.
#[utoipa::path(get, path = "/api/v1/payments", tag = "Payments", params(PaymentListQuery),
    responses((status = 200, description = "One page of payments", body = PaymentList)))]
async fn list_payments(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    ApiQuery(q): ApiQuery<PaymentListQuery>,
) -> Result<Json<PaymentList>, ApiError> {
    use crate::domain::transactions::{TransactionQuery, PAGE_SIZE};
    let limit = page_size(q.limit, PAGE_SIZE)?;
    // Given but empty is not "any": the dashboard's form sends that, the API does not.
    for (param, value) in [("link", &q.link), ("status", &q.status), ("method", &q.method), ("from", &q.from), ("to", &q.to)] {
        if value.as_deref() == Some("") {
            return Err(AppError::invalid(param, FieldError::Required).into());
        }
    }
    let filter = TransactionQuery {
        link: q.link.unwrap_or_default(),
        status: q.status.unwrap_or_default(),
        method: q.method.unwrap_or_default(),
        from: q.from.unwrap_or_default(),
        to: q.to.unwrap_or_default(),
        q: q.q,
        after: q.cursor,
    }
    .parse(account.time_zone)
    .map_err(|(field, e)| ApiError::from(AppError::invalid(field, e)))?;
    let (rows, next) = super::transactions::list(&state.db, &account, &filter, limit).await?;
    Ok(Json(PaymentList::new(rows.iter().map(PaymentObject::new).collect(), next.map(|c| c.encode()))))
}

/// Retrieve a payment with its history.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "Payments", params(("id" = String, Path)),
    responses((status = 200, description = "The payment and its events", body = PaymentObject)))]
async fn get_payment(State(state): State<AppState>, ApiAccount(account): ApiAccount, ApiPath(id): ApiPath<String>) -> Result<Json<PaymentObject>, ApiError> {
    let payment = payments::owned(&state.db, &account, &id).await?;
    let events = payments::events(&state.db, payment.id).await?;
    let mut object = PaymentObject::new(&payment.view);
    object.events = Some(events.iter().map(EventObject::new).collect());
    Ok(Json(object))
}

/// Refund a captured payment, fully or in part.
#[utoipa::path(post, path = "/api/v1/payments/{id}/refund", tag = "Payments", params(("id" = String, Path)),
    request_body(content = Option<RefundRequest>, description = "Empty refunds everything that is left"),
    responses((status = 200, description = "The payment after the refund", body = PaymentObject),
              (status = 502, description = "KOMOJU could not be reached (live mode); nothing was refunded", body = ErrorBody)))]
async fn refund_payment(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Json<PaymentObject>, ApiError> {
    // An empty body (or `null`) refunds everything that is left.
    let RefundRequest { amount, reason } = if body.iter().all(u8::is_ascii_whitespace) {
        RefundRequest::default()
    } else {
        serde_json::from_slice::<Option<RefundRequest>>(&body).map_err(|e| ApiError::bad_request("invalid_json", &e.to_string()))?.unwrap_or_default()
    };
    let payment = payments::owned(&state.db, &account, &id).await?;
    let action = payments::refund_request(&payment, |currency| RefundAmount::from_minor(amount, currency), &reason)?;
    let refunded = payments::merchant_action(&state.db, &state.komoju, &account, payment, action).await?;
    Ok(Json(PaymentObject::new(&refunded.view)))
}

/// Upload a product image (JPEG or PNG, at most 2 MB), to set on links by its id.
#[utoipa::path(post, path = "/api/v1/images", tag = "Images", request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "The stored image", body = ImageObject)))]
async fn upload_image(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    let mut multipart = multipart.map_err(|e| ApiError::bad_request("invalid_multipart", &e.body_text()))?;
    let too_large = || ApiError::from(AppError::invalid("file", FieldError::ImageTooLarge));
    let mut bytes = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| ApiError::bad_request("invalid_multipart", &e.body_text()))? {
        if field.name() != Some("file") {
            continue;
        }
        let mut file = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| too_large())? {
            // Stop reading as soon as the file is too big.
            if file.len() + chunk.len() > images::MAX_BYTES {
                return Err(too_large());
            }
            file.extend_from_slice(&chunk);
        }
        bytes = Some(file);
    }
    let bytes = bytes.ok_or_else(|| ApiError::from(AppError::invalid("file", FieldError::Required)))?;
    let sha = images::store(&state.db, account.id, bytes).await.map_err(|e| match e {
        AppError::Invalid { error, .. } => AppError::invalid("file", error),
        other => other,
    })?;
    let image = ImageObject { object: "image", url: format!("{}{}", state.config.public_url, images::url(&sha)), id: sha };
    Ok((StatusCode::CREATED, Json(image)).into_response())
}

//! What an operator sees: a request id on every request (taken from the
//! proxy's `x-request-id` when it is a plain token, made up otherwise, and
//! sent back), one access-log line per request at INFO, the log format
//! (`PAYLINKS_LOG_FORMAT=text|json`) and the health endpoints.

use super::AppState;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Level;
use tracing_subscriber::registry::LookupSpan;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Makes a request id when the request came without a usable one.
#[derive(Clone, Copy, Default)]
pub struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&super::ids::random_token()).ok().map(RequestId::new)
    }
}

/// Whether an incoming `x-request-id` is kept: 1–64 characters of
/// `[A-Za-z0-9._-]` (anything else could forge or garble log lines).
pub fn plain_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=64).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Drops an incoming `x-request-id` that is not a plain token, so that
/// [`NewRequestId`] makes one.
pub async fn sanitize_request_id(mut request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if request.headers().get(&X_REQUEST_ID).is_some_and(|v| !plain_request_id(v)) {
        request.headers_mut().remove(&X_REQUEST_ID);
    }
    next.run(request).await
}

/// The span of one request: method, path (never the query: it may carry a
/// customer's typed values back to a form) and request id. Everything logged
/// while handling it (payments, KOMOJU calls) carries these fields.
pub fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let id = request.headers().get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}

/// The access log's layer (see [`access_log`]).
pub type AccessLog = tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    fn(&Request<axum::body::Body>) -> tracing::Span,
    (),
    tower_http::trace::DefaultOnResponse,
>;

/// The access log: one INFO line per finished request (status, latency) in
/// the request's span; 5xx answers are also logged as failures.
pub fn access_log() -> AccessLog {
    use tower_http::trace::{DefaultOnResponse, TraceLayer};
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request<axum::body::Body>) -> tracing::Span)
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Millis))
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line, with the current span's fields (request id …).
    Json,
}

impl LogFormat {
    /// `PAYLINKS_LOG_FORMAT`: `text` (default) or `json`.
    pub fn from_env() -> anyhow::Result<LogFormat> {
        LogFormat::parse(std::env::var("PAYLINKS_LOG_FORMAT").ok().as_deref())
    }

    pub fn parse(value: Option<&str>) -> anyhow::Result<LogFormat> {
        match value.map(str::trim) {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => anyhow::bail!("PAYLINKS_LOG_FORMAT must be \"text\" or \"json\", not {other:?}"),
        }
    }
}

/// The formatting layer for `format`, writing to `writer` (stdout in the
/// server; the tests capture it).
pub fn log_layer<S, W>(format: LogFormat, writer: W) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Text => Box::new(layer),
        LogFormat::Json => Box::new(layer.json().flatten_event(true).with_current_span(true).with_span_list(false)),
    }
}

/// `/livez`: the process is up and serving (no database involved).
pub async fn livez() -> &'static str {
    "ok"
}

/// `/readyz` (and `/healthz`): the database answers, its migrations are
/// current and the webhook outbox worker is alive; otherwise 503 with what is wrong.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut problems = Vec::new();
    match state.db.migrations_current().await {
        Ok(true) => {}
        Ok(false) => problems.push("database migrations pending"),
        Err(e) => {
            tracing::error!(error = %e, "readiness: database unreachable");
            problems.push("database unreachable");
        }
    }
    if state.config.webhooks.concurrency > 0 && !super::merchant_webhooks::worker_alive(super::db::now_ms()) {
        problems.push("webhook worker not running");
    }
    if problems.is_empty() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("; ")).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_request_ids_are_kept() {
        for kept in ["abc", "req-123_4.5", &"a".repeat(64), "0f8fad5b-d9cb-469f-a165-70867728950e"] {
            assert!(plain_request_id(&HeaderValue::from_str(kept).unwrap()), "{kept}");
        }
        for dropped in ["", "a b", "x\"y", &"a".repeat(65), "id\tnext", "a/b", "{\"x\":1}"] {
            assert!(!plain_request_id(&HeaderValue::from_str(dropped).unwrap()), "{dropped}");
        }
    }

    #[test]
    fn log_formats() {
        assert_eq!(LogFormat::parse(None).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("text")).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some(" json ")).unwrap(), LogFormat::Json);
        assert!(LogFormat::parse(Some("yaml")).is_err());
    }
}

//! The axum application: Leptos pages and `#[server]` functions, static files,
//! health check, and the process lifecycle.

use crate::app::{shell, App};
use crate::error::AppError;
use crate::server::{config::Config, csrf, db::Db, AppState};
use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_http::compression::CompressionLayer;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let https = state.config.public_url.starts_with("https://");
    let site = Arc::new(csrf::SiteOrigin::parse(&state.config.public_url).expect("the public URL was checked at start-up"));
    let assets = crate::server::assets::Assets::load(std::path::Path::new(&*options.site_root));
    let pages = leptos_axum::file_and_error_handler::<AppState, _>(shell);
    Router::new()
        .route("/livez", get(crate::server::observe::livez))
        .route("/readyz", get(crate::server::observe::readyz))
        .route("/healthz", get(crate::server::observe::readyz))
        .route("/i18n/{file}", get(catalog))
        .route("/img/{sha}", get(crate::server::images::serve))
        .route("/mail/{id}", get(crate::server::email::preview))
        .route("/unsubscribe", get(super::unsubscribe::page).post(super::unsubscribe::confirm))
        .route("/pay/{slug}", get(super::checkout::page))
        .route("/pay/{slug}/{payment}", get(super::checkout::result))
        .route("/pay/{slug}/{payment}/paypay", get(super::checkout::paypay_page))
        .route("/pay/{slug}/{payment}/return", get(super::checkout::komoju_return))
        .route("/docs/api", get(super::api_reference::page))
        .route("/export/transactions.csv", get(crate::server::transactions::export_csv))
        .route("/webhooks/komoju/{merchant}", axum::routing::post(crate::server::webhooks::komoju))
        .merge(crate::server::api::routes(state.clone()))
        .leptos_routes_with_context(&state, routes, || {}, move || shell(options.clone()))
        // Static files from memory; anything else is the app's "not found" page.
        .fallback(move |state: State<AppState>, request: axum::extract::Request| async move {
            let uri = request.uri().clone();
            match assets.respond(request.method(), uri.path(), uri.query(), request.headers()) {
                Some(response) => response,
                None => pages(uri, state, request).await,
            }
        })
        .layer(axum::middleware::from_fn(server_fn_error_status))
        .layer(axum::middleware::from_fn(move |req, next| csrf::same_origin_only(site.clone(), req, next)))
        // Uploads are at most 2 MB of image plus the multipart envelope; a
        // larger body is cut off while streaming, never buffered whole.
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT))
        .layer(axum::middleware::from_fn(refuse_oversized_bodies))
        .layer(CompressionLayer::new())
        // A bug in one handler answers 500 instead of dropping the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(move |req, next| security_headers(req, next, https)))
        // Counted by route: after routing (the route's pattern is known),
        // around everything that can answer (CSRF 403, 413, panics' 500).
        .layer(axum::middleware::from_fn(crate::server::metrics::track))
        // Outermost: every request gets its id first, and its access-log line.
        .layer(crate::server::observe::access_log())
        .layer(tower_http::request_id::PropagateRequestIdLayer::new(crate::server::observe::X_REQUEST_ID))
        .layer(tower_http::request_id::SetRequestIdLayer::new(crate::server::observe::X_REQUEST_ID, crate::server::observe::NewRequestId))
        .layer(axum::middleware::from_fn(crate::server::observe::sanitize_request_id))
        .with_state(state)
}

/// The largest request body: an image upload with its multipart envelope.
const UPLOAD_LIMIT: usize = crate::server::images::MAX_BYTES + 64 * 1024;
/// Every other form (the longest is a link with a 5,000-character description,
/// percent-encoded) fits in far less.
const FORM_LIMIT: usize = 256 * 1024;

fn is_upload(path: &str) -> bool {
    path == "/api/upload_image" || path == "/api/v1/images"
}

/// The largest body a route takes.
fn body_limit(path: &str) -> usize {
    if is_upload(path) {
        UPLOAD_LIMIT
    } else {
        FORM_LIMIT
    }
}

/// Refuses a declared-too-large body before reading any of it, with the app's
/// error (413) so the page can say why in the visitor's language. Bodies
/// without a length are cut off at [`body_limit`] while streaming (`accept_loop`).
async fn refuse_oversized_bodies(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let declared = request.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    let path = request.uri().path();
    let upload = is_upload(path);
    let limit = body_limit(path);
    match declared {
        Some(length) if length > limit => {
            let error = if upload {
                AppError::invalid(if path == "/api/upload_image" { "image" } else { "file" }, crate::domain::fields::FieldError::ImageTooLarge)
            } else {
                AppError::TooLarge
            };
            if path.starts_with("/api/v1/") {
                return crate::server::api::ApiError::from(error).into_response();
            }
            let body = serde_json::to_string(&error).unwrap_or_default();
            (StatusCode::PAYLOAD_TOO_LARGE, [(http::header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        _ => next.run(request).await,
    }
}

/// The Content-Security-Policy of every response that does not set its own:
/// scripts and styles only from this origin (the checkout has no inline
/// script), no framing. Live checkouts post and redirect to KOMOJU, hence
/// `form-action https:`.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; form-action 'self' https:; frame-ancestors 'none'; base-uri 'self'; object-src 'none'";

/// The dashboard's policy: its inline scripts (the hydration loader, Leptos'
/// serialized resources) carry this request's nonce; WASM may be compiled.
pub fn dashboard_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
    )
}

/// Headers every response carries.
async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next, https: bool) -> axum::response::Response {
    use http::header::{self, HeaderValue};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(CSP));
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    response
}

/// 200 when the database answers, 503 otherwise (load balancers take the node out).
/// The browser's message catalog of one language (`/i18n/ja.ftl?v=…`): cached
/// for a year under the current version, revalidated under any other.
async fn catalog(axum::extract::Path(file): axum::extract::Path<String>, uri: axum::http::Uri) -> axum::response::Response {
    use axum::http::header;
    let Some(locale) = file.strip_suffix(".ftl").and_then(|code| code.parse::<crate::domain::Locale>().ok()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let current = uri.query().is_some_and(|q| q.split('&').any(|pair| pair == format!("v={}", crate::i18n::CATALOG_VERSION)));
    let cache = if current { "public, max-age=31536000, immutable" } else { "no-cache" };
    let headers = [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, cache)];
    (headers, crate::i18n::browser_catalog(locale)).into_response()
}

/// `#[server]` functions answer every error with 500; give the client the
/// status that fits the error instead (422 invalid field, 401, 404, 429, …).
async fn server_fn_error_status(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let mut response = next.run(request).await;
    // A plain form post is redirected back to its page; server_fn leaves an
    // empty query ("…/signin?") once it strips its error parameters.
    if let Some(location) = response.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok()) {
        if let Some(clean) = location.strip_suffix('?').and_then(|l| http::HeaderValue::from_str(l).ok()) {
            response.headers_mut().insert(http::header::LOCATION, clean);
        }
    }
    if !response.headers().contains_key("serverfnerror") || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let AppError::RateLimited { retry_after_secs } | AppError::Busy { retry_after_secs } = error {
            parts.headers.insert(http::header::RETRY_AFTER, retry_after_secs.into());
        }
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Connects storage and builds the application state.
pub async fn build_state(config: Config, leptos_options: LeptosOptions) -> anyhow::Result<AppState> {
    let db = Db::connect(&config.database_url).await?;
    let komoju = crate::server::komoju::Komoju::new(&config.komoju_url, config.secrets.clone());
    Ok(AppState { leptos_options, db, config: Arc::new(config), komoju, limiter: Arc::default() })
}

/// Serves on the configured address until SIGINT or SIGTERM.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(state.config.bind).await?;
    println!("Paylinks is running at http://{}", listener.local_addr()?);
    // An operator who asked for metrics gets them, or no server at all.
    let metrics = match state.config.metrics_bind {
        Some(addr) => {
            let metrics =
                tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("PAYLINKS_METRICS_BIND {addr}: {e} (set another address, or off)"))?;
            tracing::info!(addr = %metrics.local_addr()?, "metrics at /metrics");
            Some(crate::server::metrics::spawn(metrics, state.db.clone()))
        }
        None => None,
    };
    let served = serve_on(listener, state, shutdown_signal()).await;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    served
}

/// Serves on `listener` until `shutdown` completes, then finishes the requests
/// in flight and closes the database.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = state.db.clone();
    if state.config.expiry_interval_secs > 0 {
        crate::server::jobs::spawn_expiry_job(db.clone(), std::time::Duration::from_secs(state.config.expiry_interval_secs));
        crate::server::jobs::spawn_live_job(state.komoju.clone(), db.clone(), std::time::Duration::from_secs(state.config.expiry_interval_secs));
    }
    crate::server::email::spawn_worker(db.clone(), state.config.email.clone(), state.config.public_url.clone(), state.config.secrets.clone())?;
    let webhooks = crate::server::merchant_webhooks::spawn_worker(db.clone(), state.config.secrets.clone(), state.config.webhooks.clone());
    tracing::info!(
        addr = %listener.local_addr()?,
        public_url = %state.config.public_url,
        backend = ?db.backend(),
        "Paylinks is listening"
    );
    let limits = ConnectionLimits { max_connections: state.config.max_connections as usize, request_timeout: state.config.request_timeout };
    let app = router(state);
    release_startup_memory();
    accept_loop(listener, app, limits, shutdown).await;
    // A send cut short here is due again when its lease ends (on any server).
    if let Some(worker) = webhooks {
        worker.abort();
    }
    // Requests still running past the grace period may hold connections: do
    // not wait for them forever.
    if tokio::time::timeout(std::time::Duration::from_secs(5), db.close()).await.is_err() {
        tracing::warn!("database connections still in use at shutdown; stopping anyway");
    }
    tracing::info!("stopped");
    Ok(())
}

/// What one slow or idle client may hold.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Connections served at once; the rest wait in the kernel's listen queue.
    pub max_connections: usize,
    /// For a request's headers (and an idle keep-alive connection), and
    /// between two parts of a request's body.
    pub request_timeout: std::time::Duration,
}

/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Accepts connections until `shutdown`, each served by hyper with a header
/// read timeout (which also closes idle keep-alive connections), a body
/// timeout between frames, and at most `max_connections` at once: a client
/// that trickles bytes (slowloris) holds one connection for a bounded time,
/// and cannot run the server out of file descriptors.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    // HTTP/1.1 only: HTTP/2 is the reverse proxy's business (browsers speak
    // it over TLS only). Sniffing for cleartext HTTP/2 would wait for a
    // silent client's first bytes with no timeout at all.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.request_timeout).keep_alive(true);
    let builder = Arc::new(builder);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, or the peer left before accept: keep going.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let body_timeout = limits.request_timeout;
        let service = hyper::service::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            // Every body is cut off at its route's limit while it streams, with
            // or without a Content-Length (a chunked upload cannot run on).
            let limit = body_limit(request.uri().path());
            let request =
                request.map(|body| axum::body::Body::new(http_body_util::Limited::new(tower_http::timeout::TimeoutBody::new(body_timeout, body), limit)));
            let mut app = app.clone();
            // Router is always ready: call without poll_ready, as axum::serve does.
            tower::Service::call(&mut app, request)
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; stopping anyway"),
    }
}

/// Start-up reads every static file (to hash it) and keeps only what browsers
/// fetch: hand the freed pages back to the OS now. mimalloc returns a thread's
/// free pages only when that thread allocates again, and this one (the
/// accept loop's) rarely does, so ~7 MB stayed resident for the process's life.
fn release_startup_memory() {
    // SAFETY: no arguments to uphold; it only walks the allocator's own free lists.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

//! Prometheus metrics, served on their own address (`PAYLINKS_METRICS_BIND`,
//! loopback by default) so the public port never exposes them.
//!
//! Counted as they happen, per app server: requests by route, method and
//! status with a latency histogram, and rate-limit (429) and overload (503)
//! refusals. Read from the database when scraped, so every server reports the
//! same shared figures: payments by mode, method and status, the webhook and
//! email outboxes' backlog and oldest age. Also this server's pool usage.

use super::db::{now_ms, Db};
use crate::domain::payment::{Method, PaymentStatus};
use crate::domain::Mode;
use axum::extract::{MatchedPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const REQUESTS: &str = "paylinks_http_requests_total";
const LATENCY: &str = "paylinks_http_request_duration_seconds";
const RATE_LIMITED: &str = "paylinks_rate_limited_total";
const OVERLOADED: &str = "paylinks_overloaded_total";

/// The process's one recorder: installed on first use (several servers in
/// one test process share it), and a no-op for the counters until then.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(LATENCY.to_owned()), &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only the database figures");
        }
        handle
    })
}

/// Installs the recorder, so that requests are counted from the first one.
pub fn install() {
    handle();
}

/// A route's label: its pattern (`/pay/{slug}`), never the concrete path, so
/// that the number of series stays bounded whatever clients ask for.
fn route_label(matched: Option<&MatchedPath>, path: &str) -> String {
    match matched {
        Some(route) => route.as_str().to_owned(),
        None if path.starts_with("/pkg/") => "/pkg/*".to_owned(),
        None => "other".to_owned(),
    }
}

/// Middleware counting every request by route, method and status, and timing it.
pub async fn track(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let route = route_label(request.extensions().get::<MatchedPath>(), request.uri().path());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    let labels = [("route", route), ("method", method), ("status", status.as_u16().to_string())];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(LATENCY, &labels[..2]).record(started.elapsed().as_secs_f64());
    if status == StatusCode::TOO_MANY_REQUESTS {
        metrics::counter!(RATE_LIMITED, &labels[..1]).increment(1);
    } else if status == StatusCode::SERVICE_UNAVAILABLE {
        metrics::counter!(OVERLOADED, &labels[..1]).increment(1);
    }
    response
}

/// Serves `GET /metrics` on `listener` until the task is aborted.
pub fn spawn(listener: tokio::net::TcpListener, db: Db) -> tokio::task::JoinHandle<()> {
    install();
    let app = axum::Router::new().route("/metrics", axum::routing::get(scrape)).with_state(db);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    })
}

/// Refreshes the database figures, then renders everything. A database that
/// does not answer still gets the request counters out, with
/// `paylinks_database_up 0`.
async fn scrape(State(db): State<Db>) -> Response {
    let up = match tokio::time::timeout(Duration::from_secs(5), database_figures(&db)).await {
        Ok(Ok(())) => 1.0,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: database figures unavailable");
            0.0
        }
        Err(_) => {
            tracing::warn!("metrics: database figures timed out");
            0.0
        }
    };
    metrics::gauge!("paylinks_database_up").set(up);
    let pool = db.pool();
    metrics::gauge!("paylinks_db_pool_connections").set(f64::from(pool.size()));
    metrics::gauge!("paylinks_db_pool_idle_connections").set(pool.num_idle() as f64);
    metrics::gauge!("paylinks_db_pool_max_connections").set(f64::from(pool.options().get_max_connections()));
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render()).into_response()
}

async fn database_figures(db: &Db) -> Result<(), sqlx::Error> {
    // Every combination is set, zeros included, so a status that emptied
    // reads 0 rather than its last count.
    let rows: Vec<(String, String, String, i64)> =
        sqlx::query_as("SELECT mode, method, status, COUNT(*) AS n FROM payments GROUP BY mode, method, status").fetch_all(db.pool()).await?;
    let counts: std::collections::HashMap<_, _> = rows.into_iter().map(|(mode, method, status, n)| ((mode, method, status), n)).collect();
    for mode in [Mode::Test, Mode::Live] {
        for method in Method::ALL {
            for status in PaymentStatus::ALL {
                let key = (mode.as_str().to_owned(), method.as_str().to_owned(), status.as_str().to_owned());
                let n = counts.get(&key).copied().unwrap_or(0);
                metrics::gauge!("paylinks_payments", "mode" => mode.as_str(), "method" => method.as_str(), "status" => status.as_str()).set(n as f64);
            }
        }
    }
    let now = now_ms();
    for (outbox, sql) in [
        ("webhooks", "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM webhook_deliveries WHERE status = 'pending'"),
        ("emails", "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM email_jobs WHERE state = 'pending'"),
    ] {
        let (n, oldest): (i64, Option<i64>) = sqlx::query_as(sql).fetch_one(db.pool()).await?;
        metrics::gauge!("paylinks_outbox_backlog", "outbox" => outbox).set(n as f64);
        let age = oldest.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
        metrics::gauge!("paylinks_outbox_oldest_age_seconds", "outbox" => outbox).set(age);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_labelled_by_pattern_never_by_path() {
        assert_eq!(route_label(None, "/pkg/paylinks.abc.wasm"), "/pkg/*");
        assert_eq!(route_label(None, "/no/such/page/12345"), "other");
    }
}

//! What an operator sees (issue 28): health endpoints, request ids in and
//! out, one JSON access-log line per request carrying that id, and the
//! Prometheus metrics moving with requests, payments and the outboxes.
//!
//! Its own binary, not a module of `tests/api/`: it installs the process's
//! log subscriber and reads process-wide metrics, which other tests in the
//! same process would write to.
mod common;

use common::shop::{card_form, link, merchant, pay, payment_of, token_in};
use common::{free_port, start_server, start_server_configured, test_databases, try_request, Logs, ServerProcess};
use paylinks::server::observe::{log_layer, LogFormat};
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Every JSON line written so far.
fn json_lines(logs: &Logs) -> Vec<Value> {
    String::from_utf8_lossy(&logs.bytes()).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

#[tokio::test]
async fn health_request_ids_and_the_json_access_log() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::registry().with(tracing_subscriber::EnvFilter::new("info,sqlx=warn")).with(log_layer(LogFormat::Json, move || writer.clone())).init();

    for db in test_databases().await {
        let server = start_server(&db.url).await;
        for path in ["/livez", "/readyz", "/healthz"] {
            let res = server.get(path, &[]).await;
            assert_eq!((res.status, res.body.as_str()), (200, "ok"), "{}: {path}", db.label);
        }

        // No id: one is made up and sent back; a plain one is kept; anything else replaced.
        let made = server.get("/livez", &[]).await.header("x-request-id").map(str::to_owned).unwrap();
        assert_eq!(made.len(), 22, "{made}");
        let edge = format!("edge-{}.a_b", db.label);
        let kept = server.get("/readyz", &[("x-request-id", &edge)]).await;
        assert_eq!(kept.header("x-request-id"), Some(edge.as_str()));
        let forged = server.get("/livez", &[("x-request-id", "x\"} {\"admin\":true")]).await;
        let replaced = forged.header("x-request-id").unwrap();
        assert!(replaced.len() == 22 && !replaced.contains('"'), "{replaced}");

        // One INFO line for that request, with its id, method, path and status.
        let line = json_lines(&logs)
            .into_iter()
            .find(|l| l["span"]["request_id"] == edge.as_str() && l["message"] == "finished processing request")
            .unwrap_or_else(|| panic!("{}: no access-log line for {edge}", db.label));
        assert_eq!((line["level"].as_str(), line["status"].as_u64()), (Some("INFO"), Some(200)), "{line}");
        assert_eq!((line["span"]["method"].as_str(), line["span"]["path"].as_str()), (Some("GET"), Some("/readyz")), "{line}");

        // A payment followed from its request's id: the checkout's line, the
        // webhook event it queued, then that event's delivery by the worker.
        let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook_url = format!("http://{}/hook", hook.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(hook, axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }))).await.unwrap() });
        let mut shop = merchant(&server, &format!("logs-{}@example.jp", db.label)).await;
        let res = shop.call("create_webhook_endpoint", &[("url", hook_url.as_str()), ("events[]", "payment.captured")]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let (_, slug) = link(&mut shop, "Sencha", "1000", &[]).await;
        let token = token_in(&server.get(&format!("/pay/{slug}"), &[]).await.body);
        let traced = format!("pay-{}", db.label);
        let form = common::encode_form(&card_form(&slug, &token, "4111111111111111"));
        let res = server.post_form("/api/pay", &[("x-request-id", &traced)], &form).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let in_request = |message: &str| json_lines(&logs).into_iter().find(|l| l["span"]["request_id"] == traced.as_str() && l["message"] == message);
        let submitted = in_request("checkout submitted").unwrap_or_else(|| panic!("{}: no checkout line for {traced}", db.label));
        assert!(submitted["payment"].is_string() && submitted["status"] == "captured", "{submitted}");
        let queued = in_request("webhook event queued").unwrap_or_else(|| panic!("{}: no event line for {traced}", db.label));
        let event = queued["event"].as_str().unwrap().to_owned();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !json_lines(&logs).iter().any(|l| l["message"] == "webhook delivered" && l["event"] == event.as_str()) {
            assert!(std::time::Instant::now() < deadline, "{}: no delivery line for {event}", db.label);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }

        // A database behind this build's migrations is not ready (the process still lives).
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)").execute(server.state.db.pool()).await.unwrap();
        for path in ["/readyz", "/healthz"] {
            let res = server.get(path, &[]).await;
            assert_eq!((res.status, res.body.as_str()), (503, "database migrations pending"), "{}: {path}", db.label);
        }
        assert_eq!(server.get("/livez", &[]).await.status, 200);
    }
}

/// Metrics text from `addr`'s `/metrics`.
async fn scrape(addr: std::net::SocketAddr) -> String {
    let res = try_request(addr, "GET", "/metrics", &[], b"").await.expect("the metrics endpoint answers");
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

/// The sum of every sample of `name` whose labels include all of `labels`
/// (0 when there is none).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            let wanted = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            wanted.then(|| value.parse::<f64>().unwrap())
        })
        .sum()
}

#[tokio::test]
async fn metrics_move_with_requests_payments_outboxes_and_refusals() {
    for db in test_databases().await {
        let server = start_server_configured(&db.url, |args| {
            // Emails wait for a mail server that is down: the outbox's backlog.
            args.smtp_url = Some("smtp://127.0.0.1:9".into());
            args.lookup_rate_limit = 2;
        })
        .await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics = listener.local_addr().unwrap();
        let _scraper = paylinks::server::metrics::spawn(listener, server.state.db.clone());
        let label = db.label;

        let before = scrape(metrics).await;
        assert_eq!(sample(&before, "paylinks_database_up", &[]), 1.0, "{label}");
        assert!(sample(&before, "paylinks_db_pool_max_connections", &[]) >= 1.0, "{label}: {before}");
        let captured = [("mode", "test"), ("method", "card"), ("status", "captured")];
        assert_eq!(sample(&before, "paylinks_payments", &captured), 0.0, "{label}");
        assert_eq!(sample(&before, "paylinks_outbox_backlog", &[("outbox", "emails")]), 0.0, "{label}");
        assert_eq!(sample(&before, "paylinks_outbox_backlog", &[("outbox", "webhooks")]), 0.0, "{label}");
        let page_views = |text: &str| sample(text, "paylinks_http_requests_total", &[("route", "/pay/{slug}"), ("method", "GET"), ("status", "200")]);
        let page_timings = |text: &str| sample(text, "paylinks_http_request_duration_seconds_count", &[("route", "/pay/{slug}"), ("method", "GET")]);
        let refused = |text: &str| sample(text, "paylinks_rate_limited_total", &[("route", "/pay/{slug}/{payment}")]);

        // A merchant with a webhook endpoint that is down, a link, a paid card payment.
        let mut shop = merchant(&server, &format!("metrics-{label}@example.jp")).await;
        let dead = format!("http://{}/hook", free_port());
        let res = shop.call("create_webhook_endpoint", &[("url", dead.as_str()), ("events[]", "payment.captured")]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let (_, slug) = link(&mut shop, "Gyokuro", "1000", &[]).await;
        let page = server.get(&format!("/pay/{slug}"), &[]).await;
        let token = token_in(&page.body);
        let paid = payment_of(&server, &pay(&server, &card_form(&slug, &token, "4111111111111111")).await).await;
        // Result-page lookups past the limit (2 a minute) are refused.
        let result = format!("/pay/{slug}/{}", paid.view.public_id);
        let statuses: Vec<u16> = futures::future::join_all((0..4).map(|_| server.get(&result, &[]))).await.iter().map(|r| r.status).collect();
        assert!(statuses.contains(&429), "{label}: {statuses:?}");

        let after = scrape(metrics).await;
        // Counted per process (other tests' servers share it): compare deltas.
        assert!(page_views(&after) >= page_views(&before) + 1.0, "{label}: {after}");
        assert!(page_timings(&after) >= page_timings(&before) + 1.0, "{label}: {after}");
        assert!(refused(&after) >= refused(&before) + 1.0, "{label}: {after}");
        // Read from this database: exact.
        assert_eq!(sample(&after, "paylinks_payments", &captured), 1.0, "{label}: {after}");
        assert_eq!(sample(&after, "paylinks_payments", &[("mode", "live")]), 0.0, "{label}");
        // The receipt and the merchant's notice wait for SMTP; the webhook for its endpoint.
        assert!(sample(&after, "paylinks_outbox_backlog", &[("outbox", "emails")]) >= 2.0, "{label}: {after}");
        assert!(sample(&after, "paylinks_outbox_backlog", &[("outbox", "webhooks")]) >= 1.0, "{label}: {after}");
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        let later = scrape(metrics).await;
        assert!(sample(&later, "paylinks_outbox_oldest_age_seconds", &[("outbox", "emails")]) >= 1.0, "{label}: {later}");
        assert!(sample(&later, "paylinks_outbox_oldest_age_seconds", &[("outbox", "webhooks")]) >= 1.0, "{label}: {later}");
    }
}

/// `paylinks serve` serves `/metrics` on PAYLINKS_METRICS_BIND only (never on
/// the public port), and refuses to start on a bad value.
#[tokio::test]
async fn the_server_serves_metrics_on_their_own_address() {
    let dbs = test_databases().await;
    let db = &dbs[0];
    let key = paylinks::server::secrets::SecretBox::generate_hex();
    let metrics = free_port();
    let server = ServerProcess::start_with(&db.url, &key, &[("PAYLINKS_METRICS_BIND", &metrics.to_string())]).await;
    let public = try_request(server.addr, "GET", "/metrics", &[], b"").await.unwrap();
    assert_eq!(public.status, 404, "metrics must not be on the public port");
    assert_eq!(try_request(server.addr, "GET", "/livez", &[], b"").await.unwrap().status, 200);
    let text = scrape(metrics).await;
    assert!(sample(&text, "paylinks_http_requests_total", &[("route", "/livez"), ("status", "200")]) >= 1.0, "{text}");
    assert!(sample(&text, "paylinks_http_requests_total", &[("route", "other"), ("status", "404")]) >= 1.0, "{text}");
    assert!(text.contains("# TYPE paylinks_http_request_duration_seconds histogram"), "{text}");

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_paylinks"))
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("PAYLINKS_SECRET_KEY", &key)
        .env("PAYLINKS_BIND", free_port().to_string())
        .env("PAYLINKS_METRICS_BIND", "everywhere")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("PAYLINKS_METRICS_BIND"), "{stderr}");
}

//! What an operator sees (issue 28): health endpoints, request ids in and
//! out, and one JSON access-log line per request carrying that id.
mod common;

use common::{start_server, test_databases, Logs};
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
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info,sqlx=warn"))
        .with(log_layer(LogFormat::Json, move || writer.clone()))
        .init();

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

        // A database behind this build's migrations is not ready (the process still lives).
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
            .execute(server.state.db.pool())
            .await
            .unwrap();
        for path in ["/readyz", "/healthz"] {
            let res = server.get(path, &[]).await;
            assert_eq!((res.status, res.body.as_str()), (503, "database migrations pending"), "{}: {path}", db.label);
        }
        assert_eq!(server.get("/livez", &[]).await.status, 200);
    }
}

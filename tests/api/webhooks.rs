//! Webhooks to the merchant: a local receiver gets signed, verifiable events
//! for payments and links; deliveries survive a receiver that is down and a
//! server killed with SIGKILL; secrets rotate with an overlap.

use crate::common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use common::shop::{action, card_form, json, link, merchant, page_token, pay, payment_of};
use common::{count, encode_form, start_server_configured, test_databases, try_request, Browser, ServerProcess, TestServer};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One POST the receiver got.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Inbox {
    got: Arc<Mutex<Vec<Received>>>,
    /// What the receiver answers (0 = 200).
    answer: Arc<AtomicU16>,
}

/// A merchant's endpoint on 127.0.0.1.
struct Receiver {
    addr: SocketAddr,
    inbox: Inbox,
    task: Option<tokio::task::JoinHandle<()>>,
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let answer = inbox.answer.load(Ordering::SeqCst);
    if answer == 0 {
        inbox.got.lock().unwrap().push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body,
        });
        StatusCode::OK
    } else {
        StatusCode::from_u16(answer).unwrap()
    }
}

impl Receiver {
    async fn start(at: Option<SocketAddr>, inbox: Inbox) -> Receiver {
        let listener = tokio::net::TcpListener::bind(at.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap())).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/hooks", axum::routing::post(receive)).with_state(inbox.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, inbox, task: Some(task) }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// Down: nothing listens any more (and connections still open answer 503).
    fn stop(&mut self) {
        self.inbox.answer.store(503, Ordering::SeqCst);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    async fn restart(&mut self) {
        let inbox = self.inbox.clone();
        *self = Receiver::start(Some(self.addr), inbox).await;
        self.inbox.answer.store(0, Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.inbox.got.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what arrived (at most `secs`).
    async fn wait_for(&self, secs: u64, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited {secs} s for {what}; got {:#?}",
                got.iter().map(|r| r.json()["type"].clone()).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The receiver's side of Standard Webhooks, written from the specification
/// (not with the server's code): one of the space-separated `v1,` signatures
/// must be HMAC-SHA256 of `id.timestamp.body` under the secret's key, and the
/// timestamp within five minutes of now.
fn verify(secret: &str, r: &Received) -> bool {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let Ok(ts) = r.timestamp.parse::<i64>() else { return false };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    if (now - ts).abs() > 300 {
        return false;
    }
    r.signature.split(' ').filter_map(|s| s.strip_prefix("v1,")).any(|sig| {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
        base64::engine::general_purpose::STANDARD.decode(sig).is_ok_and(|bytes| mac.verify_slice(&bytes).is_ok())
    })
}

fn types(got: &[Received]) -> Vec<String> {
    got.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect()
}

/// The Node.js verification snippet as `/docs/api` shows it.
async fn documented_snippet(server: &TestServer) -> String {
    let page = server.get("/docs/api?lang=en", &[]).await;
    assert_eq!(page.status, 200);
    let start = page.body.find("data-snippet=\"verify-node\">").expect("the reference shows the snippet") + "data-snippet=\"verify-node\">".len();
    let end = start + page.body[start..].find("</code>").unwrap();
    page.body[start..end].replace("&quot;", "\"").replace("&#x27;", "'").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// Runs the snippet with Node.js on one delivery.
fn node_verifies(snippet: &str, secret: &str, r: &Received) -> bool {
    let input = serde_json::json!({
        "secret": secret,
        "headers": { "webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature },
        "body": r.body,
    });
    let program = format!(
        "{snippet}\nconst input = JSON.parse(process.argv[1]);\nprocess.stdout.write(String(verifyPaylinks(input.secret, input.headers, input.body)));"
    );
    let out = std::process::Command::new("node").arg("-e").arg(program).arg(input.to_string()).output().expect("node runs (scripts/setup installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    match String::from_utf8_lossy(&out.stdout).as_ref() {
        "true" => true,
        "false" => false,
        other => panic!("the snippet printed {other:?}"),
    }
}

/// The form fields of an endpoint: its URL and one `events[]` per event.
fn endpoint_form<'a>(url: &'a str, events: &'a str) -> Vec<(&'static str, &'a str)> {
    std::iter::once(("url", url)).chain(events.split(' ').filter(|e| !e.is_empty()).map(|e| ("events[]", e))).collect()
}

async fn add_endpoint(shop: &mut Browser<'_>, url: &str, events: &str) -> (String, String) {
    let res = shop.call("create_webhook_endpoint", &endpoint_form(url, events)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let body = json(&res);
    (body["endpoint"]["id"].as_str().unwrap().to_owned(), body["secret"].as_str().unwrap().to_owned())
}

async fn server(db: &str) -> TestServer {
    start_server_configured(db, |_| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_arrive_signed_for_payments_and_links() {
    for db in test_databases().await {
        let label = db.label;
        let server = server(&db.url).await;
        let hooks = Receiver::start(None, Inbox::default()).await;
        let mut shop = merchant(&server, "hooks@example.com").await;
        let events = "payment.captured payment.failed payment.refund.created payment.refunded payment_link.updated payment_link.deactivated";
        let (endpoint, secret) = add_endpoint(&mut shop, &hooks.url(), events).await;
        assert!(endpoint.starts_with("we_") && secret.starts_with("whsec_"), "{label}");

        // Another merchant pays for nothing here: their events never reach this endpoint.
        let mut other = merchant(&server, "other@example.com").await;
        let (_, other_slug) = link(&mut other, "Other tea", "900", &[]).await;
        let (link_id, slug) = link(&mut shop, "Sencha", "1200", &[]).await;

        let paid = payment_of(&server, &pay(&server, &card_form(&slug, &page_token(&server, &slug).await, "4111111111111111")).await).await;
        let declined = pay(&server, &card_form(&slug, &page_token(&server, &slug).await, "4123111111111000")).await;
        assert_eq!(declined.status, 200, "{label}: {}", declined.body);
        pay(&server, &card_form(&other_slug, &page_token(&server, &other_slug).await, "4111111111111111")).await;
        assert_eq!(action(&mut shop, &paid.view.public_id, "refund", "200").await.status, 200);
        assert_eq!(action(&mut shop, &paid.view.public_id, "refund", "").await.status, 200);
        let renamed =
            shop.call("update_link", &[("id", &link_id.to_string()), ("link[name]", "Sencha 2"), ("link[amount]", "1200"), ("link[currency]", "JPY")]).await;
        assert_eq!(renamed.status, 200, "{}", renamed.body);
        assert_eq!(shop.call("set_link_status", &[("id", &link_id.to_string()), ("status", "inactive")]).await.status, 200);

        let got = hooks.wait_for(20, "8 events", |got| got.len() >= 8).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got_now = hooks.received();
        assert_eq!(got_now.len(), 8, "{label}: exactly the subscribed events of this merchant: {:?}", types(&got_now));
        let mut kinds = types(&got);
        kinds.sort();
        assert_eq!(
            kinds,
            [
                "payment.captured",
                "payment.failed",
                "payment.refund.created",
                "payment.refund.created",
                "payment.refunded",
                "payment_link.deactivated",
                "payment_link.updated",
                "payment_link.updated"
            ],
            "{label}"
        );
        let mut ids = BTreeSet::new();
        for r in &got {
            assert!(verify(&secret, r), "{label}: signature of {r:?}");
            assert!(!verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", r), "{label}: another secret must not verify");
            let body = r.json();
            assert_eq!(body["id"], r.id.as_str(), "{label}: the body's id is the webhook-id");
            assert!(r.id.starts_with("evt_") && ids.insert(r.id.clone()), "{label}: ids are unique");
            assert_eq!(body["mode"], "test");
            assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
            let tampered = Received { body: r.body.replace("1200", "1"), ..r.clone() };
            if tampered.body != r.body {
                assert!(!verify(&secret, &tampered), "{label}: a changed body must not verify");
            }
        }
        // The verification snippet of the API reference, run as published.
        let snippet = documented_snippet(&server).await;
        assert!(node_verifies(&snippet, &secret, &got[0]), "{label}: the documented snippet accepts a real delivery");
        let forged = Received { body: got[0].body.replacen('{', "{ ", 1), ..got[0].clone() };
        assert!(!node_verifies(&snippet, &secret, &forged), "{label}: and refuses a changed body");
        let stale = Received { timestamp: (got[0].timestamp.parse::<i64>().unwrap() - 600).to_string(), ..got[0].clone() };
        assert!(!node_verifies(&snippet, &secret, &stale), "{label}: and an old timestamp");
        let of = |kind: &str| got.iter().map(Received::json).filter(|b| b["type"] == kind).collect::<Vec<_>>();
        // Each event carries the object as it was then.
        let captured = &of("payment.captured")[0]["data"];
        assert_eq!(
            (captured["id"].as_str(), captured["status"].as_str(), captured["amount"].as_i64()),
            (Some(paid.view.public_id.as_str()), Some("captured"), Some(1200))
        );
        assert_eq!(captured["refunded_amount"], 0, "{label}: frozen at capture, not the later refund");
        assert_eq!(of("payment.failed")[0]["data"]["failure_reason"], "insufficient_funds");
        let refunds: Vec<i64> = of("payment.refund.created").iter().map(|b| b["data"]["refunded_amount"].as_i64().unwrap()).collect();
        assert!(refunds.contains(&200) && refunds.contains(&1200), "{label}: {refunds:?}");
        assert_eq!(of("payment.refunded")[0]["data"]["status"], "refunded");
        assert_eq!(of("payment_link.deactivated")[0]["data"]["status"], "inactive");
        assert!(of("payment_link.updated").iter().any(|b| b["data"]["name"] == "Sencha 2"));

        // The log shows each delivery answered, with latency; a re-send keeps the event id.
        let log = json(&shop.call("webhook_deliveries", &[("id", &endpoint)]).await);
        let log = log.as_array().unwrap();
        assert_eq!(log.len(), 8, "{label}");
        assert!(
            log.iter().all(|d| d["status"] == "succeeded" && d["last_status_code"] == 200 && d["attempts"] == 1 && d["last_latency_ms"].is_i64()),
            "{label}: {log:?}"
        );
        let first = &log[0];
        let res = shop.call("resend_webhook_delivery", &[("id", &endpoint), ("delivery", &first["id"].to_string())]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let again = hooks.wait_for(10, "the re-send", |got| got.len() >= 9).await;
        assert_eq!(again[8].id, first["event_id"].as_str().unwrap(), "{label}: a re-send is the same event");
        assert!(verify(&secret, &again[8]));

        // Rotation: for a day, deliveries carry both signatures; each secret verifies.
        let rotated = json(&shop.call("rotate_webhook_secret", &[("id", &endpoint)]).await);
        let new_secret = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(new_secret, secret);
        assert!(rotated["endpoint"]["previous_secret_until"].is_i64(), "{label}");
        let ping = shop.call("send_test_webhook", &[("id", &endpoint)]).await;
        assert_eq!(ping.status, 200, "{}", ping.body);
        let got = hooks.wait_for(10, "the test event", |got| got.len() >= 10).await;
        let ping = &got[9];
        assert_eq!(ping.json()["type"], "ping");
        assert_eq!(ping.signature.split(' ').count(), 2, "{label}: {}", ping.signature);
        assert!(verify(&new_secret, ping) && verify(&secret, ping), "{label}");
        let revealed = json(&shop.call("reveal_webhook_secret", &[("id", &endpoint)]).await);
        assert_eq!(revealed["secret"], new_secret.as_str());
        // A previous secret that no longer opens (another server key) is left out, not fatal.
        sqlx::query("UPDATE webhook_endpoints SET previous_secret_sealed = 'v1.000000000000000000000000.00'").execute(server.state.db.pool()).await.unwrap();
        assert_eq!(shop.call("send_test_webhook", &[("id", &endpoint)]).await.status, 200);
        let got = hooks.wait_for(10, "a ping signed once", |got| got.len() >= 11).await;
        assert_eq!(got[10].signature.split(' ').count(), 1, "{label}");
        assert!(verify(&new_secret, &got[10]), "{label}");

        // Another merchant cannot see, reveal, re-send or remove this endpoint.
        for (fun, args) in [
            ("reveal_webhook_secret", vec![("id", endpoint.as_str())]),
            ("rotate_webhook_secret", vec![("id", endpoint.as_str())]),
            ("webhook_deliveries", vec![("id", endpoint.as_str())]),
            ("send_test_webhook", vec![("id", endpoint.as_str())]),
            ("remove_webhook_endpoint", vec![("id", endpoint.as_str())]),
        ] {
            assert_eq!(other.call(fun, &args).await.status, 404, "{label}: {fun}");
        }
        assert_eq!(json(&other.call("webhook_endpoints", &[]).await).as_array().unwrap().len(), 0);
        // Nor does this merchant's live mode (none) see the test endpoint.
        let listed = json(&shop.call("webhook_endpoints", &[]).await);
        assert_eq!(listed[0]["succeeded"], 10, "{label}: {listed}");
        assert!(!listed.to_string().contains("whsec_"), "{label}: the list never shows a secret");

        // Removed: nothing more is sent.
        assert_eq!(shop.call("remove_webhook_endpoint", &[("id", &endpoint)]).await.status, 200);
        assert_eq!(shop.call("set_link_status", &[("id", &link_id.to_string()), ("status", "active")]).await.status, 200);
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(hooks.received().len(), 11, "{label}");
        assert_eq!(json(&shop.call("webhook_endpoints", &[]).await).as_array().unwrap().len(), 0);

        // After 30 days the log forgets them (and only then).
        let db = &server.state.db;
        let now = paylinks::server::db::now_ms();
        assert_eq!(paylinks::server::merchant_webhooks::purge(db, now).await.unwrap(), 0);
        let retention = paylinks::server::merchant_webhooks::LOG_RETENTION_MS;
        assert_eq!(paylinks::server::merchant_webhooks::purge(db, now + retention + 1000).await.unwrap(), 10, "{label}");
        assert_eq!(count(db, "SELECT COUNT(*) FROM webhook_deliveries").await, 0, "{label}: deliveries go with their events");
    }
}

#[tokio::test]
async fn endpoints_refuse_bad_input_and_change_nothing() {
    for db in test_databases().await {
        let label = db.label;
        let server = start_server_configured(&db.url, |args| args.webhook_allow_private_networks = false).await;
        let mut shop = merchant(&server, "strict@example.com").await;
        for (url, events, field, message) in [
            ("", "payment.captured", "url", "Required"),
            ("ftp://shop.example.com/h", "payment.captured", "url", "InvalidUrl"),
            ("https://user:pw@shop.example.com/h", "payment.captured", "url", "InvalidUrl"),
            ("http://127.0.0.1:9/h", "payment.captured", "url", "UrlPrivate"),
            ("https://169.254.169.254/latest", "payment.captured", "url", "UrlPrivate"),
            ("http://localhost/h", "payment.captured", "url", "UrlPrivate"),
            // Loopback as the HTTP client reads these hosts (they are not names).
            ("http://2130706433:9/h", "payment.captured", "url", "UrlPrivate"),
            ("http://127.1:9/h", "payment.captured", "url", "UrlPrivate"),
            ("http://0x7f.1:9/h", "payment.captured", "url", "UrlPrivate"),
            ("http://0177.0.0.1:9/h", "payment.captured", "url", "UrlPrivate"),
            ("http://0:9/h", "payment.captured", "url", "UrlPrivate"),
            ("http://[::127.0.0.1]:9/h", "payment.captured", "url", "UrlPrivate"),
            ("http://0xa9fea9fe/latest", "payment.captured", "url", "UrlPrivate"),
            ("https://shop.example.com/h", "", "events", "Required"),
            ("https://shop.example.com/h", "payment.captured payment.created", "events", "NotAllowed"),
            ("https://shop.example.com/h", "ping", "events", "NotAllowed"),
        ] {
            let res = shop.call("create_webhook_endpoint", &endpoint_form(url, events)).await;
            assert_eq!(res.status, 422, "{label}: {url} {events}: {}", res.body);
            let error = &json(&res)["Invalid"];
            assert_eq!((error["field"].as_str(), error["error"].as_str()), (Some(field), Some(message)), "{label}: {url} {events}: {}", res.body);
        }
        assert_eq!(count(&server.state.db, "SELECT COUNT(*) FROM webhook_endpoints").await, 0, "{label}");
        // A good one, then an edit that is refused leaves it as it was.
        let (endpoint, _) = add_endpoint(&mut shop, "https://shop.example.com/h", "payment.failed payment.captured").await;
        let mut edit = endpoint_form("http://10.0.0.1/h", "payment.captured");
        edit.push(("id", &endpoint));
        let res = shop.call("update_webhook_endpoint", &edit).await;
        assert_eq!(res.status, 422, "{label}");
        let listed = json(&shop.call("webhook_endpoints", &[]).await);
        assert_eq!(listed[0]["url"], "https://shop.example.com/h");
        assert_eq!(listed[0]["events"], serde_json::json!(["payment.captured", "payment.failed"]));
        // Signed out: nothing.
        let mut stranger = server.browser();
        assert_eq!(stranger.call("webhook_endpoints", &[]).await.status, 401, "{label}");
    }
}

async fn pay_at(addr: SocketAddr, slug: &str) -> String {
    let page = try_request(addr, "GET", &format!("/pay/{slug}"), &[], b"").await.unwrap();
    let token = common::shop::token_in(&page.body);
    let body = encode_form(&card_form(slug, &token, "4111111111111111"));
    let origin = format!("http://{addr}");
    let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin.as_str())];
    let res = try_request(addr, "POST", "/api/pay", &headers, body.as_bytes()).await.unwrap();
    assert_eq!(res.status, 200, "{}", res.body);
    let url: String = serde_json::from_str(&res.body).unwrap();
    url.rsplit('/').next().unwrap().to_owned()
}

/// The receiver is down while customers pay, the server is killed with
/// SIGKILL while it retries; after a restart every captured payment's event
/// arrives (at least once, the receiver de-duplicating by id).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_is_lost_when_the_receiver_is_down_and_the_server_is_killed() {
    const PAYMENTS: usize = 12;
    for db in test_databases().await {
        let label = db.label;
        let key = paylinks::server::secrets::SecretBox::generate_hex();
        let mut hooks = Receiver::start(None, Inbox::default()).await;
        let (slug, secret) = {
            // Set-up in process, without a worker of its own.
            let setup = start_server_configured(&db.url, |args| {
                args.secret_key = Some(key.clone());
                args.webhook_concurrency = 0;
            })
            .await;
            let mut shop = merchant(&setup, "durable@example.com").await;
            let (_, secret) = add_endpoint(&mut shop, &hooks.url(), "payment.captured").await;
            let (_, slug) = link(&mut shop, "Matcha", "800", &[]).await;
            (slug, secret)
        };
        hooks.stop();

        let first = ServerProcess::start(&db.url, &key).await;
        let mut paid = BTreeSet::new();
        for _ in 0..PAYMENTS {
            paid.insert(pay_at(first.addr, &slug).await);
        }
        // Let it fail a few attempts, then kill it in the middle of its retries.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        first.kill();
        let database = paylinks::server::db::Db::connect(&db.url).await.unwrap();
        let attempted = count(&database, "SELECT COUNT(*) FROM webhook_deliveries WHERE attempts > 0").await;
        assert!(attempted > 0, "{label}: the dead receiver was tried");
        assert_eq!(count(&database, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'succeeded'").await, 0, "{label}");
        assert!(hooks.received().is_empty());

        hooks.restart().await;
        let _second = ServerProcess::start(&db.url, &key).await;
        let got = hooks
            .wait_for(60, "every payment's event", |got| {
                got.iter().map(|r| r.json()["data"]["id"].as_str().unwrap().to_owned()).collect::<BTreeSet<_>>().len() >= PAYMENTS
            })
            .await;
        let delivered: BTreeSet<String> = got.iter().map(|r| r.json()["data"]["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(delivered, paid, "{label}: every captured payment, and nothing else");
        assert!(got.iter().all(|r| verify(&secret, r)), "{label}");
        let unique: BTreeSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(unique.len(), PAYMENTS, "{label}: one event per payment (repeats share its id)");
        // Every delivery is recorded as done, none given up.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while count(&database, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'succeeded'").await < PAYMENTS as i64 {
            assert!(std::time::Instant::now() < deadline, "{label}: deliveries not marked succeeded");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(count(&database, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'failed'").await, 0);
        assert!(count(&database, "SELECT MIN(attempts) FROM webhook_deliveries").await >= 2, "{label}: each was retried");
        database.close().await;
    }
}

/// Deliveries of endpoint `public_id` in `status`.
async fn deliveries_of(server: &TestServer, public_id: &str, status: &str) -> i64 {
    count(
        &server.state.db,
        &format!(
            "SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE e.public_id = '{public_id}' AND d.status = '{status}'"
        ),
    )
    .await
}

/// The endpoint as the dashboard lists it.
async fn listed(shop: &mut Browser<'_>, public_id: &str) -> Value {
    let list = json(&shop.call("webhook_endpoints", &[]).await);
    list.as_array().unwrap().iter().find(|e| e["id"] == public_id).cloned().unwrap_or_else(|| panic!("{public_id} not listed: {list}"))
}

async fn wait_until<F: std::future::Future<Output = bool>>(secs: u64, what: &str, mut done: impl FnMut() -> F) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "waited {secs} s for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Issue 27: an endpoint whose deliveries all failed for a whole retry window
/// is turned off and its merchant emailed once; one that answered within the
/// window stays on. A turned-off endpoint gets no new events and no test
/// event, until the merchant turns it back on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_endpoint_failing_for_a_day_is_turned_off_until_turned_back_on() {
    for db in test_databases().await {
        let label = db.label;
        let server = server(&db.url).await;
        let mut shop = merchant(&server, "off@example.com").await;
        let broken = Receiver::start(None, Inbox::default()).await;
        broken.inbox.answer.store(500, Ordering::SeqCst);
        let flaky = Receiver::start(None, Inbox::default()).await;
        let (broken_id, _) = add_endpoint(&mut shop, &broken.url(), "payment.captured").await;
        let (flaky_id, _) = add_endpoint(&mut shop, &flaky.url(), "payment.captured").await;
        let (_, slug) = link(&mut shop, "Hojicha", "800", &[]).await;
        let pay_once = || async { payment_of(&server, &pay(&server, &card_form(&slug, &page_token(&server, &slug).await, "4111111111111111")).await).await };

        // The flaky endpoint takes the first event, then fails too.
        pay_once().await;
        flaky.wait_for(10, "the first event", |got| got.len() == 1).await;
        flaky.inbox.answer.store(500, Ordering::SeqCst);
        pay_once().await;
        wait_until(10, "failed attempts at both endpoints", || async {
            count(&server.state.db, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending' AND attempts > 0").await == 3
        })
        .await;
        // A day passes for them: created a day ago, their retry windows end now.
        sqlx::query("UPDATE webhook_deliveries SET created_at = created_at - 86400000, give_up_at = 0 WHERE status = 'pending'")
            .execute(server.state.db.pool())
            .await
            .unwrap();
        // The broken endpoint's first give-up turns it off: its other delivery waits.
        wait_until(15, "the deliveries to give up", || async {
            deliveries_of(&server, &broken_id, "failed").await == 1 && deliveries_of(&server, &flaky_id, "failed").await == 1
        })
        .await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(deliveries_of(&server, &broken_id, "pending").await, 1, "{label}: the waiting delivery is not sent");
        assert_eq!(deliveries_of(&server, &broken_id, "failed").await, 1, "{label}");

        let off = listed(&mut shop, &broken_id).await;
        assert!(off["turned_off_at"].as_i64().is_some(), "{label}: {off}");
        let on = listed(&mut shop, &flaky_id).await;
        assert!(on["turned_off_at"].is_null(), "{label}: it answered within the window: {on}");
        // One email for the turn-off, naming the endpoint and its last answer.
        wait_until(15, "the email to be sent", || async {
            count(&server.state.db, "SELECT COUNT(*) FROM email_jobs WHERE kind = 'webhook_disabled' AND state = 'sent'").await == 1
        })
        .await;
        assert_eq!(count(&server.state.db, "SELECT COUNT(*) FROM email_jobs WHERE kind = 'webhook_disabled'").await, 1, "{label}");
        let (to, mode, subject, text): (String, Option<String>, String, String) =
            sqlx::query_as("SELECT recipient, mode, subject, text_body FROM email_jobs WHERE kind = 'webhook_disabled'")
                .fetch_one(server.state.db.pool())
                .await
                .unwrap();
        assert_eq!((to.as_str(), mode.as_deref()), ("off@example.com", Some("test")), "{label}");
        assert!(subject.contains(&broken.url()), "{label}: {subject}");
        assert!(text.contains("HTTP 500") && text.contains("/dashboard/settings/webhooks"), "{label}: {text}");

        // Turned off: a new event skips it (the flaky one still gets its own), and no test event.
        flaky.inbox.answer.store(0, Ordering::SeqCst);
        pay_once().await;
        flaky.wait_for(10, "the third event", |got| got.len() == 2).await;
        let broken_total = count(
            &server.state.db,
            &format!("SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.public_id = '{broken_id}'"),
        )
        .await;
        assert_eq!(broken_total, 2, "{label}: no delivery queued for a turned-off endpoint");
        assert_eq!(shop.call("send_test_webhook", &[("id", &broken_id)]).await.status, 409, "{label}");

        // Fixed and turned back on: the delivery that waited goes out, and new events reach it.
        broken.inbox.answer.store(0, Ordering::SeqCst);
        let res = shop.call("turn_on_webhook_endpoint", &[("id", &broken_id)]).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        assert!(json(&res)["turned_off_at"].is_null(), "{label}: {}", res.body);
        pay_once().await;
        let got = broken.wait_for(10, "the waiting event and a new one", |got| got.len() == 2).await;
        assert_eq!(types(&got), ["payment.captured", "payment.captured"], "{label}");
        assert_eq!(shop.call("send_test_webhook", &[("id", &broken_id)]).await.status, 200, "{label}");
        // Only the merchant's own endpoint can be turned on.
        let mut stranger = merchant(&server, "stranger@example.com").await;
        assert_eq!(stranger.call("turn_on_webhook_endpoint", &[("id", &broken_id)]).await.status, 404, "{label}");
    }
}

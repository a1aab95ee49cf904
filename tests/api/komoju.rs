//! The live-mode KOMOJU connector against a local stub that speaks the
//! documented subset of KOMOJU's API (sessions, payments' refunds, Basic auth,
//! `X-KOMOJU-IDEMPOTENCY`), on every backend.
use crate::common;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Json;
use base64::Engine;
use common::shop::{komoju_signature, merchant_public_id};
use common::{start_server_with, test_databases, Browser, Response, TestServer};
use paylinks::server::payments;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const PASSWORD: &str = "correct horse battery";
const SECRET_KEY: &str = "sk_live_stub0123456789abcdef";
const WEBHOOK_SECRET: &str = "whsec-stub-0123456789";

// ---- the stub ---------------------------------------------------------------

#[derive(Default)]
struct Stub {
    /// Sessions by id.
    sessions: HashMap<String, Value>,
    /// Session id by idempotency key.
    by_key: HashMap<String, String>,
    /// Every session creation request: (idempotency key, body).
    created: Vec<(String, Value)>,
    /// Refund answers by idempotency key, and every refund call.
    refunds_by_key: HashMap<String, Value>,
    refund_calls: Vec<(String, String, Value)>,
    /// Answer session creation with HTTP 500.
    broken: bool,
    /// Answer refunds with this status (500: down, 422: refused).
    refund_failure: Option<StatusCode>,
}

type Shared = Arc<Mutex<Stub>>;

fn authorized(headers: &HeaderMap) -> bool {
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{SECRET_KEY}:")));
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(basic.as_str())
}

fn unauthorized() -> axum::response::Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"error": {"code": "unauthorized", "message": "bad key"}}))).into_response()
}

async fn create_session(State(stub): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> axum::response::Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let Some(key) = headers.get("x-komoju-idempotency").and_then(|v| v.to_str().ok()).map(str::to_owned) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"message": "idempotency key required"}}))).into_response();
    };
    let mut stub = stub.lock().unwrap();
    stub.created.push((key.clone(), body.clone()));
    if stub.broken {
        return (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response();
    }
    if let Some(id) = stub.by_key.get(&key) {
        return Json(stub.sessions[id].clone()).into_response();
    }
    let id = format!("sess{}", stub.sessions.len() + 1);
    let session = json!({
        "id": id, "resource": "session", "status": "pending", "amount": body["amount"], "currency": body["currency"],
        "return_url": body["return_url"], "session_url": format!("https://komoju.example/sessions/{id}"), "payment": null,
    });
    stub.by_key.insert(key, id.clone());
    stub.sessions.insert(id, session.clone());
    (StatusCode::OK, Json(session)).into_response()
}

async fn show_session(State(stub): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> axum::response::Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    match stub.lock().unwrap().sessions.get(&id) {
        Some(session) => Json(session.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": {"message": "no such session"}}))).into_response(),
    }
}

async fn refund(State(stub): State<Shared>, headers: HeaderMap, Path(id): Path<String>, Json(body): Json<Value>) -> axum::response::Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let key = headers.get("x-komoju-idempotency").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut stub = stub.lock().unwrap();
    stub.refund_calls.push((id.clone(), key.clone(), body.clone()));
    if let Some(status) = stub.refund_failure {
        return (status, Json(json!({"error": {"message": "refunds of this payment need the customer's bank account"}}))).into_response();
    }
    if let Some(answer) = stub.refunds_by_key.get(&key) {
        return Json(answer.clone()).into_response();
    }
    let Some(session) = stub.sessions.values_mut().find(|s| s["payment"]["id"] == id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"message": "no such payment"}}))).into_response();
    };
    let payment = &mut session["payment"];
    let amount = body["amount"].as_i64().unwrap_or(payment["amount"].as_i64().unwrap());
    let refunded = payment["amount_refunded"].as_i64().unwrap() + amount;
    if refunded > payment["amount"].as_i64().unwrap() {
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"error": {"message": "refund exceeds payment"}}))).into_response();
    }
    payment["amount_refunded"] = json!(refunded);
    if refunded == payment["amount"].as_i64().unwrap() {
        payment["status"] = json!("refunded");
    }
    let answer = payment.clone();
    stub.refunds_by_key.insert(key, answer.clone());
    Json(answer).into_response()
}

impl Stub {
    /// The customer finished on KOMOJU's page: the session gets a payment.
    fn pay(&mut self, session: &str, status: &str) -> Value {
        let s = self.sessions.get_mut(session).unwrap();
        s["status"] = json!("completed");
        s["payment"] = json!({
            "id": format!("kpay_{session}"), "resource": "payment", "status": status, "amount": s["amount"],
            "currency": s["currency"], "amount_refunded": 0, "session": session,
        });
        s["payment"].clone()
    }
}

async fn start_stub() -> (String, Shared) {
    let stub: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/api/v1/sessions", post(create_session))
        .route("/api/v1/sessions/{id}", get(show_session))
        .route("/api/v1/payments/{id}/refund", post(refund))
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, stub)
}

// ---- helpers ----------------------------------------------------------------

fn json_of(response: &Response) -> Value {
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.body))
}

/// A merchant approved for live mode, with KOMOJU connected, and a live link.
async fn live_shop<'a>(server: &'a TestServer, email: &str) -> (Browser<'a>, i64, String) {
    let mut shop = server.browser();
    let res = shop.call("sign_up", &[("business_name", "Tea House"), ("email", email), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = shop.call("sign_in", &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    sqlx::query("INSERT INTO live_applications (account_id, status, updated_at) SELECT id, 'approved', 0 FROM accounts WHERE email = $1")
        .bind(email.to_owned())
        .execute(server.state.db.pool())
        .await
        .unwrap();
    assert_eq!(shop.call("set_mode", &[("mode", "live")]).await.status, 200);
    let res = shop.call("save_komoju_settings", &[("secret_key", SECRET_KEY), ("webhook_secret", WEBHOOK_SECRET)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let form = [("link[name]", "Gyokuro"), ("link[amount]", "3000"), ("link[currency]", "JPY"), ("link[language]", "ja")];
    let res = shop.call("create_link", &form).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let link = json_of(&res);
    assert_eq!(link["mode"], "live");
    (shop, link["id"].as_i64().unwrap(), link["slug"].as_str().unwrap().to_owned())
}

fn token_in(page: &str) -> String {
    let marker = "name=\"pay[token]\" value=\"";
    let start = page.find(marker).unwrap_or_else(|| panic!("no token in page: {page}")) + marker.len();
    page[start..start + 22].to_owned()
}

async fn start_live_payment(server: &TestServer, slug: &str) -> (String, Response) {
    let page = server.get(&format!("/pay/{slug}"), &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = token_in(&page.body);
    let form = [("pay[slug]", slug), ("pay[token]", token.as_str()), ("pay[method]", "komoju"), ("pay[lang]", "en"), ("pay[email]", "hana@example.jp")];
    let res = server.browser().call("pay", &form).await;
    (token, res)
}

async fn only_payment(server: &TestServer) -> payments::Payment {
    use sqlx::Row;
    let id: i64 = sqlx::query("SELECT id FROM payments ORDER BY id DESC LIMIT 1").fetch_one(server.state.db.pool()).await.unwrap().get(0);
    payments::by_id(&server.state.db, id).await.unwrap()
}

async fn webhook(server: &TestServer, merchant: &str, delivery: &str, event: &str, data: &Value, secret: Option<&str>) -> Response {
    let body = json!({"id": format!("evt_{delivery}"), "type": event, "resource": "event", "data": data}).to_string();
    deliver(server, merchant, delivery, event, &body, secret).await
}

/// A whole event body as given, signed with the merchant's secret.
async fn signed_event(server: &TestServer, merchant: &str, delivery: &str, event: &Value) -> Response {
    let kind = event["type"].as_str().unwrap_or_default();
    deliver(server, merchant, delivery, kind, &event.to_string(), Some(WEBHOOK_SECRET)).await
}

async fn deliver(server: &TestServer, merchant: &str, delivery: &str, event: &str, body: &str, secret: Option<&str>) -> Response {
    let signature = secret.map(|s| komoju_signature(s, body.as_bytes()));
    let mut headers = vec![("Content-Type", "application/json"), ("X-Komoju-ID", delivery), ("X-Komoju-Event", event)];
    if let Some(signature) = &signature {
        headers.push(("X-Komoju-Signature", signature.as_str()));
    }
    // From KOMOJU's servers: no Origin, no cookies.
    server.request("POST", &format!("/webhooks/komoju/{merchant}"), &headers, body).await
}

async fn assert_verified(server: &TestServer, label: &str) {
    let mismatches = payments::verify(&server.state.db).await.unwrap();
    assert!(mismatches.is_empty(), "{label}: {mismatches:?}");
}

// ---- tests ------------------------------------------------------------------

#[tokio::test]
async fn keys_are_sealed_and_never_shown_again() {
    let (komoju, _) = start_stub().await;
    for db in test_databases().await {
        let server = start_server_with(&db.url, &komoju).await;
        let (mut shop, _, _) = live_shop(&server, "keys@example.com").await;
        let settings = json_of(&shop.call("komoju_settings", &[]).await);
        assert_eq!(settings["secret_key_hint"], "cdef", "{}", db.label);
        assert!(settings["webhook_url"].as_str().unwrap().contains("/webhooks/komoju/"));
        assert!(!settings.to_string().contains(SECRET_KEY) && !settings.to_string().contains(WEBHOOK_SECRET));
        use sqlx::Row;
        let row = sqlx::query("SELECT * FROM komoju_accounts").fetch_one(server.state.db.pool()).await.unwrap();
        for i in 0..row.len() {
            if let Ok(text) = row.try_get::<String, _>(i) {
                assert!(!text.contains("stub0123") && !text.contains("whsec"), "{}: stored in clear: {text}", db.label);
            }
        }
        // Bad keys are refused with the field named, and change nothing.
        let res = shop.call("save_komoju_settings", &[("secret_key", "sk_test_abcdefghijklmnop"), ("webhook_secret", WEBHOOK_SECRET)]).await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert_eq!(json_of(&res)["Invalid"]["field"], "secret_key");
        assert_eq!(json_of(&shop.call("komoju_settings", &[]).await)["secret_key_hint"], "cdef");
    }
}

#[tokio::test]
async fn live_checkout_creates_one_session_per_attempt_with_the_idempotency_header() {
    let (komoju, stub) = start_stub().await;
    for db in test_databases().await {
        stub.lock().unwrap().created.clear();
        let server = start_server_with(&db.url, &komoju).await;
        let (_, _, slug) = live_shop(&server, "live@example.com").await;
        let page = server.get(&format!("/pay/{slug}"), &[]).await;
        assert!(!page.body.contains("card_number") && page.body.contains("value=\"komoju\""), "live page offers KOMOJU only");
        assert!(!page.body.contains("test-banner"), "no test banner in live mode");

        let (token, res) = start_live_payment(&server, &slug).await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        let url: String = serde_json::from_str(&res.body).unwrap();
        assert!(url.starts_with("https://komoju.example/sessions/"), "{url}");
        {
            let stub = stub.lock().unwrap();
            assert_eq!(stub.created.len(), 1);
            let (key, body) = &stub.created[0];
            assert_eq!(key, &token, "the attempt's token is KOMOJU's idempotency key");
            assert_eq!((body["amount"].as_i64(), body["currency"].as_str()), (Some(3000), Some("JPY")));
            assert_eq!(body["default_locale"], "en");
            let payment = body["payment_data"]["external_order_num"].as_str().unwrap();
            assert!(body["return_url"].as_str().unwrap().ends_with(&format!("/pay/{slug}/{payment}/return")));
        }
        // The same token again (double click, back button): the same session.
        let form =
            [("pay[slug]", slug.as_str()), ("pay[token]", token.as_str()), ("pay[method]", "komoju"), ("pay[lang]", "en"), ("pay[email]", "hana@example.jp")];
        let again = server.browser().call("pay", &form).await;
        assert_eq!(serde_json::from_str::<String>(&again.body).unwrap(), url);
        // A plain form post is redirected to KOMOJU.
        let res = server.post_form("/api/pay", &[("Accept", "text/html")], &common::encode_form(&form)).await;
        assert_eq!(res.header("location"), Some(url.as_str()), "{}", res.status);
        use sqlx::Row;
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM payments").fetch_one(server.state.db.pool()).await.unwrap().get(0);
        assert_eq!(count, 1, "{}", db.label);

        // Test-mode methods never run on a live link.
        let token = token_in(&server.get(&format!("/pay/{slug}"), &[]).await.body);
        let card = [
            ("pay[slug]", slug.as_str()),
            ("pay[token]", token.as_str()),
            ("pay[method]", "card"),
            ("pay[email]", "a@b.jp"),
            ("pay[name]", "A B"),
            ("pay[card_number]", "4111111111111111"),
            ("pay[card_expiry]", "12/39"),
            ("pay[card_cvc]", "123"),
        ];
        let res = server.browser().call("pay", &card).await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert_eq!(stub.lock().unwrap().created.len(), 1);
    }
}

#[tokio::test]
async fn return_from_komoju_confirms_with_komoju() {
    let (komoju, stub) = start_stub().await;
    for db in test_databases().await {
        let server = start_server_with(&db.url, &komoju).await;
        let (_, link_id, slug) = live_shop(&server, "return@example.com").await;
        let (_, res) = start_live_payment(&server, &slug).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let payment = only_payment(&server).await;
        let session = payment.provider_session.clone().unwrap();
        let back = format!("/pay/{slug}/{}/return?session_id={session}", payment.view.public_id);

        // Back before paying: still pending, with a way back to KOMOJU.
        let res = server.get(&back, &[]).await;
        assert_eq!(res.status, 303);
        let result = server.get(res.header("location").unwrap(), &[]).await;
        assert!(result.body.contains("https://komoju.example/sessions/"), "continue button");

        stub.lock().unwrap().pay(&session, "captured");
        let res = server.get(&back, &[]).await;
        assert_eq!(res.status, 303);
        let payment = payments::by_id(&server.state.db, payment.id).await.unwrap();
        assert_eq!(payment.view.status.as_str(), "captured", "{}", db.label);
        assert_eq!(payment.provider_ref.as_deref(), Some(format!("kpay_{session}").as_str()));
        // Again (reload): nothing moves twice.
        server.get(&back, &[]).await;
        let sales = payments::sales(&server.state.db, link_id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments, sales.pending_payments), (3000, 1, 0), "{}", db.label);
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn webhooks_are_verified_processed_once_and_drive_the_summary() {
    let (komoju, stub) = start_stub().await;
    for db in test_databases().await {
        let server = start_server_with(&db.url, &komoju).await;
        let (_, link_id, slug) = live_shop(&server, "hooks@example.com").await;
        let merchant = merchant_public_id(&server, "hooks@example.com").await;
        start_live_payment(&server, &slug).await;
        let payment = only_payment(&server).await;
        let session = payment.provider_session.clone().unwrap();
        let mut data = stub.lock().unwrap().pay(&session, "authorized");
        let status = || async { payments::by_id(&server.state.db, payment.id).await.unwrap().view.status.as_str() };

        // Unsigned, mis-signed, or signed with another secret: 401, nothing changes.
        assert_eq!(webhook(&server, &merchant, "d0", "payment.authorized", &data, None).await.status, 401);
        assert_eq!(webhook(&server, &merchant, "d0", "payment.authorized", &data, Some("wrong-secret")).await.status, 401);
        let body = json!({"type": "payment.captured", "data": data}).to_string();
        let forged = komoju_signature(WEBHOOK_SECRET, json!({"type": "payment.authorized", "data": data}).to_string().as_bytes());
        let res = server.request("POST", &format!("/webhooks/komoju/{merchant}"), &[("X-Komoju-ID", "d0"), ("X-Komoju-Signature", &forged)], &body).await;
        assert_eq!(res.status, 401, "signature of another body");
        assert_eq!(status().await, "pending");
        assert_eq!(webhook(&server, "nobody", "d0", "payment.authorized", &data, Some(WEBHOOK_SECRET)).await.status, 404);

        // Konbini-like: authorized, then paid.
        let res = webhook(&server, &merchant, "d1", "payment.authorized", &data, Some(WEBHOOK_SECRET)).await;
        assert_eq!((res.status, res.body.as_str()), (200, "ok"), "{}", db.label);
        assert_eq!(status().await, "authorized");
        data["status"] = json!("captured");
        assert_eq!(webhook(&server, &merchant, "d2", "payment.captured", &data, Some(WEBHOOK_SECRET)).await.status, 200);
        assert_eq!(status().await, "captured");

        // A partial refund, delivered twice: processed once.
        data["amount_refunded"] = json!(1000);
        let events_before = payments::events(&server.state.db, payment.id).await.unwrap().len();
        let first = webhook(&server, &merchant, "d3", "payment.refund.created", &data, Some(WEBHOOK_SECRET)).await;
        let replay = webhook(&server, &merchant, "d3", "payment.refund.created", &data, Some(WEBHOOK_SECRET)).await;
        assert_eq!((first.body.as_str(), replay.status, replay.body.as_str()), ("ok", 200, "already processed"));
        assert_eq!(payments::events(&server.state.db, payment.id).await.unwrap().len(), events_before + 1);
        let sales = payments::sales(&server.state.db, link_id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments, sales.refunded_payments), (2000, 1, 0), "{}", db.label);

        // Late, out-of-order news (the capture again) changes nothing.
        data["amount_refunded"] = json!(0);
        assert_eq!(webhook(&server, &merchant, "d4", "payment.captured", &data, Some(WEBHOOK_SECRET)).await.status, 200);
        assert_eq!(payments::sales(&server.state.db, link_id).await.unwrap().captured_amount, 2000);

        // Fully refunded.
        data["status"] = json!("refunded");
        data["amount_refunded"] = json!(3000);
        assert_eq!(webhook(&server, &merchant, "d5", "payment.refunded", &data, Some(WEBHOOK_SECRET)).await.status, 200);
        assert_eq!(status().await, "refunded");
        let sales = payments::sales(&server.state.db, link_id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments, sales.refunded_payments), (0, 0, 1), "{}", db.label);

        // A captured request replayed later: under another delivery id the
        // event id gives it away; an old event is refused outright.
        let event = json!({"id": "evt_d5", "type": "payment.refunded", "resource": "event", "data": data});
        let res = signed_event(&server, &merchant, "replayed", &event).await;
        assert_eq!((res.status, res.body.as_str()), (200, "already processed"), "{}", db.label);
        let events_now = payments::events(&server.state.db, payment.id).await.unwrap().len();
        for created_at in [json!("2020-01-01T00:00:00Z"), json!(1_577_836_800), json!("2020-01-01T09:00:00+09:00")] {
            let event = json!({"id": "evt_old", "type": "payment.captured", "resource": "event", "data": data, "created_at": created_at});
            let res = signed_event(&server, &merchant, "old", &event).await;
            assert_eq!((res.status, res.body.as_str()), (400, "event too old"), "{}: {created_at}", db.label);
        }
        assert_eq!(payments::events(&server.state.db, payment.id).await.unwrap().len(), events_now);
        let fresh = json!({"id": "evt_fresh", "type": "payment.refunded", "resource": "event", "data": data,
            "created_at": paylinks::domain::link::rfc3339(paylinks::server::db::now_ms() - 60_000)});
        assert_eq!(signed_event(&server, &merchant, "fresh", &fresh).await.status, 200, "a minute old is fine");

        // A different amount than ours is never applied.
        start_live_payment(&server, &slug).await;
        let other = only_payment(&server).await;
        let mut wrong = stub.lock().unwrap().pay(other.provider_session.as_deref().unwrap(), "captured");
        wrong["amount"] = json!(1);
        let res = webhook(&server, &merchant, "d6", "payment.captured", &wrong, Some(WEBHOOK_SECRET)).await;
        assert_eq!((res.status, res.body.as_str()), (200, "needs attention"));
        assert_eq!(payments::by_id(&server.state.db, other.id).await.unwrap().view.status.as_str(), "pending");
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn live_chargebacks_leave_the_summary_as_the_seed_defines_it() {
    let (komoju, stub) = start_stub().await;
    for db in test_databases().await {
        let server = start_server_with(&db.url, &komoju).await;
        let (_, link_id, slug) = live_shop(&server, "disputes@example.com").await;
        let merchant = merchant_public_id(&server, "disputes@example.com").await;
        // Two captured payments; the second is partly refunded.
        let mut paid = Vec::new();
        for (i, refunded) in [(0, 0), (1, 500)] {
            start_live_payment(&server, &slug).await;
            let payment = only_payment(&server).await;
            let mut data = stub.lock().unwrap().pay(payment.provider_session.as_deref().unwrap(), "captured");
            assert_eq!(webhook(&server, &merchant, &format!("c{i}"), "payment.captured", &data, Some(WEBHOOK_SECRET)).await.status, 200);
            if refunded > 0 {
                data["amount_refunded"] = json!(refunded);
                assert_eq!(webhook(&server, &merchant, &format!("r{i}"), "payment.refund.created", &data, Some(WEBHOOK_SECRET)).await.status, 200);
            }
            paid.push((payment, data));
        }
        let sales = payments::sales(&server.state.db, link_id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments), (5500, 2), "{}", db.label);

        // An unsigned chargeback is refused and changes nothing.
        let (first, first_data) = &paid[0];
        assert_eq!(webhook(&server, &merchant, "cb0", "payment.chargeback", first_data, None).await.status, 401);
        assert_eq!(payments::by_id(&server.state.db, first.id).await.unwrap().view.status.as_str(), "captured");

        // The fixture events: a chargeback, its replay, and a second delivery of the same news.
        let res = webhook(&server, &merchant, "cb1", "payment.chargeback", first_data, Some(WEBHOOK_SECRET)).await;
        assert_eq!((res.status, res.body.as_str()), (200, "ok"), "{}", db.label);
        let replay = webhook(&server, &merchant, "cb1", "payment.chargeback", first_data, Some(WEBHOOK_SECRET)).await;
        assert_eq!(replay.body, "already processed");
        let events = payments::events(&server.state.db, first.id).await.unwrap().len();
        let again = webhook(&server, &merchant, "cb2", "payment.dispute.created", first_data, Some(WEBHOOK_SECRET)).await;
        assert_eq!((again.status, again.body.as_str()), (200, "ok"), "the same news again is a no-op");
        assert_eq!(payments::events(&server.state.db, first.id).await.unwrap().len(), events);
        assert_eq!(payments::by_id(&server.state.db, first.id).await.unwrap().view.status.as_str(), "charged_back");

        // The partly refunded one is lost in a dispute: only what was left is taken out.
        let (second, second_data) = &paid[1];
        assert_eq!(webhook(&server, &merchant, "cb3", "payment.dispute.lost", second_data, Some(WEBHOOK_SECRET)).await.status, 200);
        assert_eq!(payments::by_id(&server.state.db, second.id).await.unwrap().view.status.as_str(), "charged_back");
        let sales = payments::sales(&server.state.db, link_id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments, sales.refunded_payments), (0, 0, 0), "{}", db.label);

        // Later news of the capture does not resurrect it; a won dispute needs a person.
        assert_eq!(webhook(&server, &merchant, "cb4", "payment.captured", first_data, Some(WEBHOOK_SECRET)).await.status, 200);
        let won = webhook(&server, &merchant, "cb5", "payment.dispute.won", first_data, Some(WEBHOOK_SECRET)).await;
        assert_eq!((won.status, won.body.as_str()), (200, "needs attention"));
        assert_eq!(payments::by_id(&server.state.db, first.id).await.unwrap().view.status.as_str(), "charged_back");

        // A chargeback of a payment that never captured is not applied.
        start_live_payment(&server, &slug).await;
        let open = only_payment(&server).await;
        let open_data = stub.lock().unwrap().pay(open.provider_session.as_deref().unwrap(), "pending");
        let res = webhook(&server, &merchant, "cb6", "payment.chargeback", &open_data, Some(WEBHOOK_SECRET)).await;
        assert_eq!((res.status, res.body.as_str()), (200, "needs attention"));
        assert_eq!(payments::by_id(&server.state.db, open.id).await.unwrap().view.status.as_str(), "pending");
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn live_refunds_go_through_komoju() {
    let (komoju, stub) = start_stub().await;
    for db in test_databases().await {
        let server = start_server_with(&db.url, &komoju).await;
        let (mut shop, link_id, slug) = live_shop(&server, "refund@example.com").await;
        start_live_payment(&server, &slug).await;
        let payment = only_payment(&server).await;
        let session = payment.provider_session.clone().unwrap();
        stub.lock().unwrap().pay(&session, "captured");
        server.get(&format!("/pay/{slug}/{}/return", payment.view.public_id), &[]).await;

        let id = payment.view.public_id.as_str();
        let refund = |amount: &'static str| [("payment", id), ("action", "refund"), ("amount", amount), ("reason", "damaged")];
        let res = shop.call("payment_action", &refund("500")).await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        assert_eq!(json_of(&res)["refunded_amount"], 500);
        {
            let stub = stub.lock().unwrap();
            let (kpay, key, body) = stub.refund_calls.last().unwrap();
            assert_eq!(kpay, &format!("kpay_{session}"));
            assert!(!key.is_empty(), "refunds carry an idempotency key");
            assert_eq!((body["amount"].as_i64(), body["description"].as_str()), (Some(500), Some("damaged")));
        }
        // More than what is left is refused before KOMOJU is asked.
        let calls = stub.lock().unwrap().refund_calls.len();
        assert_eq!(shop.call("payment_action", &refund("2501")).await.status, 422);
        assert_eq!(stub.lock().unwrap().refund_calls.len(), calls);
        // Test-mode actions are not for live payments.
        let res = shop.call("payment_action", &[("payment", id), ("action", "charge_back"), ("amount", ""), ("reason", "")]).await;
        assert_eq!(res.status, 403);
        // The rest.
        let res = shop.call("payment_action", &refund("")).await;
        assert_eq!(json_of(&res)["status"], "refunded", "{}", res.body);
        let sales = payments::sales(&server.state.db, link_id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments, sales.refunded_payments), (0, 0, 1), "{}", db.label);
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn komoju_down_charges_nothing_and_says_so() {
    let (komoju, stub) = start_stub().await;
    for db in test_databases().await {
        let server = start_server_with(&db.url, &komoju).await;
        let (_, _, slug) = live_shop(&server, "down@example.com").await;
        stub.lock().unwrap().broken = true;
        let (_, res) = start_live_payment(&server, &slug).await;
        stub.lock().unwrap().broken = false;
        assert_eq!(res.status, 502, "{}", res.body);
        assert_eq!(json_of(&res), json!("ProviderUnavailable"));
        let payment = only_payment(&server).await;
        assert_eq!(payment.view.status.as_str(), "failed");
        assert_eq!(payment.view.failure_reason.map(|r| r.as_str()), Some("provider_unavailable"));
        // A browser is sent back to the form with the message in its language.
        let page = server.get(&format!("/pay/{slug}?lang=ja"), &[]).await;
        let token = token_in(&page.body);
        stub.lock().unwrap().broken = true;
        let form =
            [("pay[slug]", slug.as_str()), ("pay[token]", token.as_str()), ("pay[method]", "komoju"), ("pay[lang]", "ja"), ("pay[email]", "hana@example.jp")];
        let res = server.post_form("/api/pay", &[("Accept", "text/html")], &common::encode_form(&form)).await;
        stub.lock().unwrap().broken = false;
        let back = server.get(res.header("location").unwrap(), &[]).await;
        assert!(back.body.contains("決済サービスに接続できませんでした"), "{}", db.label);
        assert_verified(&server, db.label).await;
    }
}

// ---- live oversell (issue 25, item 7) -----------------------------------------

/// The merchant edits the live link's usage limit (the dashboard's form).
async fn set_usage_limit(shop: &mut Browser<'_>, link_id: i64, limit: &str) {
    let id = link_id.to_string();
    let form = [("id", id.as_str()), ("link[name]", "Gyokuro"), ("link[usage_limit]", limit), ("link[status]", "active"), ("link[language]", "ja")];
    let res = shop.call("update_link", &form).await;
    assert_eq!(res.status, 200, "{}", res.body);
}

async fn reserved_units(server: &TestServer, link_id: i64) -> i64 {
    common::count(&server.state.db, &format!("SELECT reserved_count FROM links WHERE id = {link_id}")).await
}

/// Waits (a few seconds at most) for payment `id` to reach `status`.
async fn wait_for_status(server: &TestServer, id: i64, status: &str) -> payments::Payment {
    for _ in 0..100 {
        let payment = payments::by_id(&server.state.db, id).await.unwrap();
        if payment.view.status.as_str() == status {
            return payment;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("payment {id} never became {status}: {:?}", payments::by_id(&server.state.db, id).await.unwrap().view);
}

#[tokio::test]
async fn a_limited_live_link_reserves_a_unit_per_open_komoju_session() {
    let (komoju, stub) = start_stub().await;
    for db in test_databases().await {
        let server = start_server_with(&db.url, &komoju).await;
        let (mut shop, link_id, slug) = live_shop(&server, "one-left@example.com").await;
        let merchant = merchant_public_id(&server, "one-left@example.com").await;
        set_usage_limit(&mut shop, link_id, "1").await;

        // Hana opens KOMOJU's page: the one unit is hers while it is open.
        let (_, res) = start_live_payment(&server, &slug).await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        let hana = only_payment(&server).await;
        assert!(hana.holds_unit);
        assert_eq!(reserved_units(&server, link_id).await, 1);
        // The merchant sees it held.
        let seen = json_of(&shop.call("get_link", &[("id", &link_id.to_string())]).await);
        assert_eq!((seen["captured_count"].as_i64(), seen["reserved_count"].as_i64()), (Some(0), Some(1)), "{seen}");
        let sessions = stub.lock().unwrap().created.len();

        // Ken comes meanwhile: no KOMOJU session for a unit that is not there.
        let (_, res) = start_live_payment(&server, &slug).await;
        assert_eq!(res.status, 409, "{}: {}", db.label, res.body);
        assert!(res.body.contains("AllReserved"), "{}", res.body);
        assert_eq!(stub.lock().unwrap().created.len(), sessions, "{}: no session was created", db.label);
        // Without JavaScript he is sent back to the form, told why in his language.
        let token = token_in(&server.get(&format!("/pay/{slug}"), &[]).await.body);
        let form =
            [("pay[slug]", slug.as_str()), ("pay[token]", token.as_str()), ("pay[method]", "komoju"), ("pay[lang]", "en"), ("pay[email]", "ken@example.jp")];
        let res = server.post_form("/api/pay", &[("Accept", "text/html")], &common::encode_form(&form)).await;
        let back = server.get(res.header("location").unwrap(), &[]).await;
        assert!(back.body.contains("being paid for by other customers"), "{}: {}", db.label, back.body);
        assert_eq!(common::count(&server.state.db, "SELECT COUNT(*) FROM payments").await, 1, "{}: refused starts write nothing", db.label);

        // Hana cancels on KOMOJU's page and comes back: the unit is free again.
        let session = hana.provider_session.clone().unwrap();
        stub.lock().unwrap().sessions.get_mut(&session).unwrap()["status"] = json!("cancelled");
        let res = server.get(&format!("/pay/{slug}/{}/return?session_id={session}", hana.view.public_id), &[]).await;
        assert_eq!(res.status, 303);
        assert_eq!(payments::by_id(&server.state.db, hana.id).await.unwrap().view.status.as_str(), "cancelled");
        assert_eq!(reserved_units(&server, link_id).await, 0, "{}", db.label);

        // Ken tries again, pays; the link is sold out and nobody else starts.
        let (_, res) = start_live_payment(&server, &slug).await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        let ken = only_payment(&server).await;
        let data = stub.lock().unwrap().pay(ken.provider_session.as_deref().unwrap(), "captured");
        assert_eq!(webhook(&server, &merchant, "ken-paid", "payment.captured", &data, Some(WEBHOOK_SECRET)).await.status, 200);
        let ken = payments::by_id(&server.state.db, ken.id).await.unwrap();
        assert_eq!((ken.view.status.as_str(), ken.view.unwanted), ("captured", None), "{}", db.label);
        assert_eq!(reserved_units(&server, link_id).await, 0);
        let page = server.get(&format!("/pay/{slug}"), &[]).await;
        assert_eq!(page.status, 410, "{}: sold out", db.label);
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn live_money_the_link_would_not_take_is_refunded_automatically() {
    let (komoju, stub) = start_stub().await;
    for db in test_databases().await {
        let server = start_server_with(&db.url, &komoju).await;
        {
            let mut stub = stub.lock().unwrap();
            stub.refund_calls.clear();
            stub.refunds_by_key.clear();
        }
        let (mut shop, link_id, slug) = live_shop(&server, "closed@example.com").await;
        let merchant = merchant_public_id(&server, "closed@example.com").await;

        // A customer opened KOMOJU's page; the merchant then closes the link.
        start_live_payment(&server, &slug).await;
        let payment = only_payment(&server).await;
        let res = shop.call("set_link_status", &[("id", &link_id.to_string()), ("status", "inactive")]).await;
        assert_eq!(res.status, 200, "{}", res.body);

        // She pays anyway, and KOMOJU is down for refunds at first: the money is
        // recorded (never hidden), marked, and its refund is retried.
        stub.lock().unwrap().refund_failure = Some(StatusCode::INTERNAL_SERVER_ERROR);
        let data = stub.lock().unwrap().pay(payment.provider_session.as_deref().unwrap(), "captured");
        assert_eq!(webhook(&server, &merchant, "late-1", "payment.captured", &data, Some(WEBHOOK_SECRET)).await.status, 200);
        let captured = payments::by_id(&server.state.db, payment.id).await.unwrap();
        assert_eq!(captured.view.status.as_str(), "captured", "{}", db.label);
        assert_eq!(captured.view.unwanted, Some(paylinks::domain::payment::UnwantedCapture::LinkInactive), "{}", db.label);
        for _ in 0..100 {
            if common::count(&server.state.db, &format!("SELECT auto_refund_tries FROM payments WHERE id = {}", payment.id)).await > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let due = payments::by_id(&server.state.db, payment.id).await.unwrap();
        assert_eq!((due.view.status.as_str(), due.view.auto_refund_due), ("captured", true), "{}: retried later", db.label);

        // KOMOJU is back: the next round refunds it in full, once.
        stub.lock().unwrap().refund_failure = None;
        let later = paylinks::server::db::now_ms() + 10 * 60 * 1000;
        payments::live_tick(&server.state.komoju, &server.state.db, later).await;
        let refunded = wait_for_status(&server, payment.id, "refunded").await;
        assert!(!refunded.view.auto_refund_due);
        {
            let stub = stub.lock().unwrap();
            let key = format!("paylinks-auto-refund-{}", payment.view.public_id);
            assert!(stub
                .refund_calls
                .iter()
                .all(|(id, k, body)| id == &format!("kpay_{}", payment.provider_session.as_deref().unwrap()) && k == &key && body["amount"] == 3000));
            assert_eq!(stub.refunds_by_key.len(), 1, "one refund at KOMOJU");
        }
        // KOMOJU's own news of the refund (and a replayed capture) change nothing more.
        let mut news = data.clone();
        news["status"] = json!("refunded");
        news["amount_refunded"] = json!(3000);
        assert_eq!(webhook(&server, &merchant, "late-2", "payment.refunded", &news, Some(WEBHOOK_SECRET)).await.status, 200);
        assert_eq!(webhook(&server, &merchant, "late-3", "payment.captured", &data, Some(WEBHOOK_SECRET)).await.status, 200);
        let sales = payments::sales(&server.state.db, link_id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments, sales.refunded_payments), (0, 0, 1), "{}", db.label);
        let kinds: Vec<String> = payments::events(&server.state.db, payment.id).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["created", "session_created", "captured", "auto_refund_due", "refunded"], "{}", db.label);

        // The merchant sees why on the payment.
        let detail = shop.call("payment_detail", &[("id", payment.view.public_id.as_str())]).await;
        assert!(detail.body.contains("\"unwanted\":\"link_inactive\""), "{}", detail.body);

        // A refund KOMOJU refuses (konbini: needs a bank account) is left to the merchant, said so.
        let res = shop.call("set_link_status", &[("id", &link_id.to_string()), ("status", "active")]).await;
        assert_eq!(res.status, 200);
        start_live_payment(&server, &slug).await;
        let second = only_payment(&server).await;
        shop.call("set_link_status", &[("id", &link_id.to_string()), ("status", "inactive")]).await;
        stub.lock().unwrap().refund_failure = Some(StatusCode::UNPROCESSABLE_ENTITY);
        let data = stub.lock().unwrap().pay(second.provider_session.as_deref().unwrap(), "captured");
        assert_eq!(webhook(&server, &merchant, "late-4", "payment.captured", &data, Some(WEBHOOK_SECRET)).await.status, 200);
        let mut left = payments::by_id(&server.state.db, second.id).await.unwrap();
        for _ in 0..100 {
            if !left.view.auto_refund_due {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            left = payments::by_id(&server.state.db, second.id).await.unwrap();
        }
        assert_eq!((left.view.status.as_str(), left.view.auto_refund_due), ("captured", false), "{}", db.label);
        let last = payments::events(&server.state.db, second.id).await.unwrap().pop().unwrap();
        assert_eq!(last.kind, "auto_refund_failed");
        assert!(last.detail.unwrap().contains("bank account"));
        stub.lock().unwrap().refund_failure = None;
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn stale_live_attempts_end_and_money_paid_after_is_still_recorded() {
    let (komoju, stub) = start_stub().await;
    for db in test_databases().await {
        let server = start_server_with(&db.url, &komoju).await;
        let (mut shop, link_id, slug) = live_shop(&server, "stale@example.com").await;
        let merchant = merchant_public_id(&server, "stale@example.com").await;
        set_usage_limit(&mut shop, link_id, "1").await;
        start_live_payment(&server, &slug).await;
        let hana = only_payment(&server).await;
        let (komoju_client, store) = (&server.state.komoju, &server.state.db);

        // Before the session's lifetime nothing happens; after it, KOMOJU is
        // asked (no payment on the session) and the attempt ends: the unit is back.
        payments::live_tick(komoju_client, store, paylinks::server::db::now_ms()).await;
        assert_eq!(payments::by_id(store, hana.id).await.unwrap().view.status.as_str(), "pending");
        let after_lifetime = hana.view.deadline_at + 1;
        payments::live_tick(komoju_client, store, after_lifetime).await;
        assert_eq!(payments::by_id(store, hana.id).await.unwrap().view.status.as_str(), "expired", "{}", db.label);
        assert_eq!(reserved_units(&server, link_id).await, 0, "{}", db.label);

        // Ken takes the unit; then KOMOJU reports that Hana had paid after all.
        let (_, res) = start_live_payment(&server, &slug).await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        let ken = only_payment(&server).await;
        let data = stub.lock().unwrap().pay(hana.provider_session.as_deref().unwrap(), "captured");
        let res = webhook(&server, &merchant, "hana-late", "payment.captured", &data, Some(WEBHOOK_SECRET)).await;
        assert_eq!((res.status, res.body.as_str()), (200, "ok"), "{}", db.label);
        // Recorded (not hidden), behind Ken's reservation: refunded automatically.
        let hana = wait_for_status(&server, hana.id, "refunded").await;
        assert_eq!(hana.view.unwanted, Some(paylinks::domain::payment::UnwantedCapture::LimitReached), "{}", db.label);
        let kinds: Vec<String> = payments::events(store, hana.id).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["created", "session_created", "expired", "captured_late", "auto_refund_due", "refunded"], "{}", db.label);

        // Ken pays: his unit was held for him.
        let data = stub.lock().unwrap().pay(ken.provider_session.as_deref().unwrap(), "captured");
        assert_eq!(webhook(&server, &merchant, "ken", "payment.captured", &data, Some(WEBHOOK_SECRET)).await.status, 200);
        let ken = payments::by_id(store, ken.id).await.unwrap();
        assert_eq!((ken.view.status.as_str(), ken.view.unwanted), ("captured", None), "{}", db.label);
        let sales = payments::sales(store, link_id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments, sales.refunded_payments), (3000, 1, 1), "{}", db.label);
        let used = common::count(store, &format!("SELECT captured_count FROM links WHERE id = {link_id}")).await;
        assert_eq!(used, 1, "{}: the refunded late capture used no unit", db.label);

        // KOMOJU unreachable at the lifetime: the attempt waits (up to an hour), then ends anyway.
        set_usage_limit(&mut shop, link_id, "3").await;
        start_live_payment(&server, &slug).await;
        let third = only_payment(&server).await;
        stub.lock().unwrap().sessions.remove(third.provider_session.as_deref().unwrap());
        payments::live_tick(komoju_client, store, third.view.deadline_at + 1).await;
        assert_eq!(payments::by_id(store, third.id).await.unwrap().view.status.as_str(), "pending", "{}", db.label);
        let past_grace = third.view.deadline_at + payments::STALE_GRACE_MS + 1;
        payments::live_tick(komoju_client, store, past_grace).await;
        assert_eq!(payments::by_id(store, third.id).await.unwrap().view.status.as_str(), "expired", "{}", db.label);
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn concurrent_live_customers_get_exactly_the_units_left() {
    let (komoju, _stub) = start_stub().await;
    for db in test_databases().await {
        let server = start_server_with(&db.url, &komoju).await;
        let (mut shop, link_id, slug) = live_shop(&server, "rush@example.com").await;
        set_usage_limit(&mut shop, link_id, "3").await;
        let starts = (0..12).map(|_| start_live_payment(&server, &slug));
        let statuses: Vec<u16> = futures::future::join_all(starts).await.into_iter().map(|(_, res)| res.status).collect();
        let started = statuses.iter().filter(|s| **s == 200).count();
        let refused = statuses.iter().filter(|s| **s == 409).count();
        assert_eq!((started, refused), (3, 9), "{}: {statuses:?}", db.label);
        assert_eq!(reserved_units(&server, link_id).await, 3);
        assert_verified(&server, db.label).await;
    }
}

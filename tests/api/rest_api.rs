//! The merchant REST API (`/api/v1`): secret keys per mode, payment links,
//! their summary, and the stable error shape.

use crate::common;

use common::shop::{card_form, json, merchant, page_token, pay};
use common::{count, start_server, start_server_configured, test_databases, Browser, Response, TestServer};
use serde_json::{json as body, Value};

async fn api(server: &TestServer, key: Option<&str>, method: &str, path: &str, payload: Option<Value>) -> Response {
    api_with(server, key, method, path, payload, &[]).await
}

async fn api_with(server: &TestServer, key: Option<&str>, method: &str, path: &str, payload: Option<Value>, extra: &[(&str, &str)]) -> Response {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    headers.extend_from_slice(extra);
    // From a shop's backend: no Origin, no cookies.
    let text = payload.map(|p| p.to_string()).unwrap_or_default();
    server.request(method, &format!("/api/v1{path}"), &headers, &text).await
}

fn error_of(res: &Response) -> (String, String, Option<String>) {
    let body: Value = serde_json::from_str(&res.body).unwrap_or_else(|e| panic!("{} {:?}: not JSON: {e}", res.status, res.body));
    let error = &body["error"];
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", res.body);
    assert!(error["type"].as_str().is_some(), "{}", res.body);
    (error["type"].as_str().unwrap().to_owned(), error["code"].as_str().unwrap().to_owned(), error["param"].as_str().map(str::to_owned))
}

async fn new_key(browser: &mut Browser<'_>, name: &str) -> String {
    let res = browser.call("create_api_key", &[("name", name)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    json(&res)["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn keys_are_per_merchant_and_mode_shown_once_and_revocable() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let label = db.label;
        let mut shop = merchant(&server, "api@example.com").await;
        let key = new_key(&mut shop, "Shop backend").await;
        assert!(key.starts_with("sk_test_") && key.len() >= 50, "{key}");

        // Listed by prefix and name, never in full.
        let listed = shop.call("api_keys", &[]).await;
        assert!(!listed.body.contains(&key), "{label}: the key is shown again");
        let keys = json(&listed);
        assert_eq!(keys[0]["name"], "Shop backend");
        assert!(key.starts_with(keys[0]["prefix"].as_str().unwrap()));
        assert_eq!(keys[0]["last_used_at"], Value::Null);

        // No key, a malformed one, someone's made-up one: 401 in the error shape.
        for bad in [None, Some("sk_test_nope"), Some("pk_test_0123"), Some(&key[..key.len() - 1])] {
            let res = api(&server, bad, "GET", "/payment_links", None).await;
            assert_eq!(res.status, 401, "{label}: {bad:?}: {}", res.body);
            assert_eq!(error_of(&res).0, "authentication_error");
        }
        let res = api(&server, Some(&key), "GET", "/payment_links", None).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        assert!(json(&shop.call("api_keys", &[]).await)[0]["last_used_at"].is_i64(), "{label}: use is recorded");

        // Live keys need an approved application.
        assert_eq!(shop.call("set_mode", &[("mode", "live")]).await.status, 403);
        sqlx::query("INSERT INTO live_applications (account_id, status, updated_at) SELECT id, 'approved', 0 FROM accounts WHERE email = 'api@example.com'")
            .execute(server.state.db.pool())
            .await
            .unwrap();
        assert_eq!(shop.call("set_mode", &[("mode", "live")]).await.status, 200);
        let live_key = new_key(&mut shop, "Live backend").await;
        assert!(live_key.starts_with("sk_live_"));
        assert_eq!(json(&shop.call("api_keys", &[]).await).as_array().unwrap().len(), 1, "{label}: keys are listed per mode");
        // A test key never sees live data, nor a live key test data.
        let (live_link, _) = common::shop::link(&mut shop, "Live Gyokuro", "3000", &[]).await;
        let path = format!("/payment_links/{live_link}");
        assert_eq!(api(&server, Some(&key), "GET", &path, None).await.status, 404, "{label}");
        let res = api(&server, Some(&live_key), "GET", &path, None).await;
        assert_eq!((res.status, json(&res)["mode"].as_str()), (200, Some("live")), "{label}: {}", res.body);
        let listed = json(&api(&server, Some(&key), "GET", "/payment_links", None).await);
        assert!(listed["data"].as_array().unwrap().is_empty(), "{label}");

        // Revoked: refused at once. Another merchant cannot revoke yours.
        let id = json(&shop.call("api_keys", &[]).await)[0]["id"].as_i64().unwrap().to_string();
        let mut other = merchant(&server, "other@example.com").await;
        assert_eq!(other.call("revoke_api_key", &[("id", &id)]).await.status, 404);
        assert_eq!(api(&server, Some(&live_key), "GET", "/payment_links", None).await.status, 200);
        assert_eq!(shop.call("revoke_api_key", &[("id", &id)]).await.status, 200);
        assert_eq!(api(&server, Some(&live_key), "GET", "/payment_links", None).await.status, 401);
        // Keys are not a way into the dashboard, nor the dashboard's cookie into the API.
        let cookie = format!("pl_session={}", shop.session().unwrap());
        let res = server.request("GET", "/api/v1/payment_links", &[("Cookie", &cookie)], "").await;
        assert_eq!(res.status, 401, "{label}");
    }
}

#[tokio::test]
async fn payment_links_through_the_api_follow_the_dashboards_rules() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let label = db.label;
        let mut shop = merchant(&server, "links-api@example.com").await;
        let key = new_key(&mut shop, "Backend").await;
        let k = Some(key.as_str());

        // Create: amounts in minor units, timestamps in RFC 3339 UTC.
        let res = api(
            &server,
            k,
            "POST",
            "/payment_links",
            Some(body!({
                "name": "Order #1001", "description": "Gift box", "amount": 1050, "currency": "USD",
                "language": "en", "usage_limit": 3, "expires_at": "2031-01-02T03:04:05Z"
            })),
        )
        .await;
        assert_eq!(res.status, 201, "{label}: {}", res.body);
        let link = json(&res);
        assert_eq!((link["amount"].as_i64(), link["currency"].as_str()), (Some(1050), Some("USD")));
        assert_eq!(link["expires_at"], "2031-01-02T03:04:05Z");
        assert_eq!(link["mode"], "test");
        assert!(link["created_at"].as_str().unwrap().ends_with('Z'));
        let id = link["id"].as_i64().unwrap();
        // The same link the dashboard sees.
        let seen = json(&shop.call("get_link", &[("id", &id.to_string())]).await);
        assert_eq!((seen["name"].as_str(), seen["amount"].as_i64()), (Some("Order #1001"), Some(1050)));

        // The dashboard's validation, in the API's error shape.
        let cases = [
            (body!({"name": "Tea", "amount": 49, "currency": "JPY"}), 422, "amount_below_minimum", Some("amount")),
            (body!({"name": "Tea", "amount": 10_000_000, "currency": "JPY"}), 422, "amount_above_maximum", Some("amount")),
            (body!({"name": "Tea", "currency": "JPY"}), 422, "required", Some("amount")),
            (body!({"name": "", "amount": 500, "currency": "JPY"}), 422, "required", Some("name")),
            (body!({"name": "Tea", "amount": 500, "currency": "GBP"}), 422, "not_allowed", Some("currency")),
            (body!({"name": "Tea", "amount": 500, "currency": "JPY", "expires_at": "tomorrow"}), 422, "date_invalid", Some("expires_at")),
            // Found by Schemathesis: non-ASCII where an offset is looked for.
            (body!({"name": "Tea", "amount": 500, "currency": "JPY", "expires_at": "\u{80}\u{80}\u{80}"}), 422, "date_invalid", Some("expires_at")),
            (body!({"name": "Tea", "amount": 500, "currency": "JPY", "expires_at": "2031-01-02T03:04:05+ä:00"}), 422, "date_invalid", Some("expires_at")),
            (body!({"name": "order #1001", "amount": 500, "currency": "JPY"}), 409, "name_taken", Some("name")),
            (body!({"name": "Tea", "amount": "500", "currency": "JPY"}), 400, "invalid_json", None),
            (body!({"name": "Tea", "amount": 500, "currency": "JPY", "colour": "red"}), 400, "invalid_json", None),
        ];
        for (payload, status, code, param) in cases {
            let res = api(&server, k, "POST", "/payment_links", Some(payload.clone())).await;
            assert_eq!(res.status, status, "{label}: {payload}: {}", res.body);
            let (_, got_code, got_param) = error_of(&res);
            assert_eq!((got_code.as_str(), got_param.as_deref()), (code, param), "{label}: {payload}");
        }
        let res = server
            .request("POST", "/api/v1/payment_links", &[("Content-Type", "application/json"), ("Authorization", &format!("Bearer {key}"))], "{\"name\": ")
            .await;
        assert_eq!((res.status, error_of(&res).1.as_str()), (400, "invalid_json"), "{label}");
        let res = api(&server, k, "GET", "/nothing/here", None).await;
        assert_eq!((res.status, error_of(&res).1.as_str()), (404, "unknown_endpoint"), "{label}");

        // Partial update keeps what is not sent; amount and currency stay.
        let res = api(&server, k, "POST", &format!("/payment_links/{id}"), Some(body!({"description": "Gift box, wrapped"}))).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        let updated = json(&res);
        assert_eq!((updated["name"].as_str(), updated["usage_limit"].as_i64()), (Some("Order #1001"), Some(3)));
        assert_eq!(updated["expires_at"], "2031-01-02T03:04:05Z");
        // Any RFC 3339 offset is taken; the answer is in UTC.
        let res = api(&server, k, "POST", &format!("/payment_links/{id}"), Some(body!({"expires_at": "2031-01-02T12:04:05+09:00"}))).await;
        assert_eq!((res.status, json(&res)["expires_at"].as_str()), (200, Some("2031-01-02T03:04:05Z")), "{label}: {}", res.body);
        let res = api(&server, k, "POST", &format!("/payment_links/{id}"), Some(body!({"expires_at": "2031-01-01T22:04:05-05:00"}))).await;
        assert_eq!((res.status, json(&res)["expires_at"].as_str()), (200, Some("2031-01-02T03:04:05Z")), "{label}: {}", res.body);
        let res = api(&server, k, "POST", &format!("/payment_links/{id}"), Some(body!({"amount": 2000}))).await;
        assert_eq!((res.status, error_of(&res).1.as_str()), (422, "immutable"), "{label}");

        // Summary: the Total Sales Summary figures.
        let (yen, slug) = {
            let res = api(&server, k, "POST", "/payment_links", Some(body!({"name": "Matcha", "amount": 1200, "currency": "JPY"}))).await;
            let link = json(&res);
            (link["id"].as_i64().unwrap(), link["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned())
        };
        let token = page_token(&server, &slug).await;
        assert_eq!(pay(&server, &card_form(&slug, &token, "4111111111111111")).await.status, 200);
        let summary = json(&api(&server, k, "GET", &format!("/payment_links/{yen}/summary"), None).await);
        assert_eq!((summary["captured_amount"].as_i64(), summary["captured_payments"].as_i64()), (Some(1200), Some(1)), "{label}");
        assert_eq!(summary["currency"], "JPY");

        // Deactivate: the checkout stops taking payments.
        let res = api(&server, k, "POST", &format!("/payment_links/{yen}/deactivate"), None).await;
        assert_eq!((res.status, json(&res)["status"].as_str()), (200, Some("inactive")), "{label}");
        assert_eq!(server.get(&format!("/pay/{slug}"), &[]).await.status, 410);

        // Another merchant's key sees none of it.
        let mut other = merchant(&server, "other@example.com").await;
        let theirs = new_key(&mut other, "Theirs").await;
        for path in [format!("/payment_links/{id}"), format!("/payment_links/{yen}/summary")] {
            assert_eq!(api(&server, Some(&theirs), "GET", &path, None).await.status, 404, "{label}: {path}");
        }
        let res = api(&server, Some(&theirs), "POST", &format!("/payment_links/{id}/deactivate"), None).await;
        assert_eq!(res.status, 404, "{label}");
        assert_eq!(json(&api(&server, Some(&theirs), "GET", "/payment_links", None).await)["data"].as_array().unwrap().len(), 0);

        // Cursor pagination: every link once, newest first.
        for i in 0..23 {
            let res = api(&server, k, "POST", "/payment_links", Some(body!({"name": format!("Bulk {i}"), "amount": 500, "currency": "JPY"}))).await;
            assert_eq!(res.status, 201, "{}", res.body);
        }
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = json(&api(&server, k, "GET", &format!("/payment_links?cursor={cursor}"), None).await);
            seen.extend(page["data"].as_array().unwrap().iter().map(|l| l["id"].as_i64().unwrap()));
            if !page["has_more"].as_bool().unwrap() {
                assert_eq!(page["next_cursor"], Value::Null);
                break;
            }
            cursor = page["next_cursor"].as_str().unwrap().to_owned();
        }
        assert_eq!(seen.len(), 25, "{label}");
        let mut sorted = seen.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        sorted.dedup();
        assert_eq!(seen, sorted, "{label}: newest first, no repeats");
        let found = json(&api(&server, k, "GET", "/payment_links?q=matcha", None).await);
        assert_eq!(found["data"].as_array().unwrap().len(), 1, "{label}");
    }
}

#[tokio::test]
async fn payments_are_listed_read_and_refunded_through_the_api() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let label = db.label;
        let mut shop = merchant(&server, "payments-api@example.com").await;
        let key = new_key(&mut shop, "Backend").await;
        let k = Some(key.as_str());
        let link = json(&api(&server, k, "POST", "/payment_links", Some(body!({"name": "Sencha", "amount": 2000, "currency": "JPY"}))).await);
        let slug = link["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        let mut ids = Vec::new();
        for _ in 0..3 {
            let token = page_token(&server, &slug).await;
            let res = pay(&server, &card_form(&slug, &token, "4111111111111111")).await;
            let url: String = serde_json::from_str(&res.body).unwrap();
            ids.push(url.rsplit('/').next().unwrap().to_owned());
        }

        let list = json(&api(&server, k, "GET", &format!("/payments?link={}", link["id"]), None).await);
        assert_eq!(list["data"].as_array().unwrap().len(), 3, "{label}: {list}");
        assert_eq!(list["data"][0]["card"]["last4"], "1111");
        let res = api(&server, k, "GET", "/payments?status=stolen", None).await;
        assert_eq!((res.status, error_of(&res).2.as_deref()), (422, Some("status")), "{label}");

        // Partial refund in minor units, then the rest; the events tell the story.
        let res = api(&server, k, "POST", &format!("/payments/{}/refund", ids[0]), Some(body!({"amount": 500, "reason": "chipped cup"}))).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        assert_eq!((json(&res)["status"].as_str(), json(&res)["refunded_amount"].as_i64()), (Some("captured"), Some(500)));
        let res = api(&server, k, "POST", &format!("/payments/{}/refund", ids[0]), Some(body!({"amount": 1501}))).await;
        assert_eq!(res.status, 422, "{label}: {}", res.body);
        let res = api(&server, k, "POST", &format!("/payments/{}/refund", ids[0]), None).await;
        assert_eq!(json(&res)["status"], "refunded", "{label}: {}", res.body);
        let detail = json(&api(&server, k, "GET", &format!("/payments/{}", ids[0]), None).await);
        let kinds: Vec<&str> = detail["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "refunded").count(), 2, "{label}: {kinds:?}");
        let summary = json(&api(&server, k, "GET", &format!("/payment_links/{}/summary", link["id"]), None).await);
        assert_eq!((summary["captured_amount"].as_i64(), summary["refunded_payments"].as_i64()), (Some(4000), Some(1)), "{label}");

        // Another merchant: not found, nothing refunded.
        let mut other = merchant(&server, "other@example.com").await;
        let theirs = new_key(&mut other, "Theirs").await;
        let res = api(&server, Some(&theirs), "POST", &format!("/payments/{}/refund", ids[1]), Some(body!({"amount": 100}))).await;
        assert_eq!(res.status, 404, "{label}");
        assert_eq!(api(&server, Some(&theirs), "GET", &format!("/payments/{}", ids[1]), None).await.status, 404);
        assert_eq!(json(&api(&server, k, "GET", &format!("/payments/{}", ids[1]), None).await)["refunded_amount"], 0);
    }
}

#[tokio::test]
async fn idempotency_keys_make_retries_safe() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let label = db.label;
        let mut shop = merchant(&server, "idem@example.com").await;
        let key = new_key(&mut shop, "Backend").await;
        let k = Some(key.as_str());
        let links = || count(&server.state.db, "SELECT COUNT(*) FROM links");
        let order = body!({"name": "Order #7", "amount": 800, "currency": "JPY"});

        // First request runs; the same request again gets the same answer, replayed.
        let first = api_with(&server, k, "POST", "/payment_links", Some(order.clone()), &[("Idempotency-Key", "order-7")]).await;
        assert_eq!(first.status, 201, "{label}: {}", first.body);
        assert_eq!(first.header("idempotent-replayed"), None);
        let again = api_with(&server, k, "POST", "/payment_links", Some(order.clone()), &[("Idempotency-Key", "order-7")]).await;
        assert_eq!((again.status, again.header("idempotent-replayed")), (201, Some("true")), "{label}: {}", again.body);
        assert_eq!(json(&again), json(&first), "{label}: the first answer, byte for byte");
        assert_eq!(links().await, 1, "{label}");

        // Same key, another body: refused, nothing created.
        let other = body!({"name": "Order #8", "amount": 800, "currency": "JPY"});
        let res = api_with(&server, k, "POST", "/payment_links", Some(other.clone()), &[("Idempotency-Key", "order-7")]).await;
        assert_eq!((res.status, error_of(&res).1.as_str()), (422, "idempotency_key_reused"), "{label}: {}", res.body);
        assert_eq!(links().await, 1, "{label}");
        // Errors are kept too: a refused request replays its refusal.
        let bad = body!({"name": "Order #9", "amount": 1, "currency": "JPY"});
        for _ in 0..2 {
            let res = api_with(&server, k, "POST", "/payment_links", Some(bad.clone()), &[("Idempotency-Key", "order-9")]).await;
            assert_eq!((res.status, error_of(&res).1.as_str()), (422, "amount_below_minimum"), "{label}");
        }
        // Keys belong to a merchant and mode: another merchant's same key is theirs.
        let mut rival = merchant(&server, "rival@example.com").await;
        let theirs = new_key(&mut rival, "Theirs").await;
        let res = api_with(&server, Some(&theirs), "POST", "/payment_links", Some(order.clone()), &[("Idempotency-Key", "order-7")]).await;
        assert_eq!((res.status, res.header("idempotent-replayed")), (201, None), "{label}: {}", res.body);
        // A refund retried with its key refunds once.
        let slug = json(&first)["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        let token = page_token(&server, &slug).await;
        let paid: String = serde_json::from_str(&pay(&server, &card_form(&slug, &token, "4111111111111111")).await.body).unwrap();
        let payment = paid.rsplit('/').next().unwrap().to_owned();
        for _ in 0..3 {
            let res =
                api_with(&server, k, "POST", &format!("/payments/{payment}/refund"), Some(body!({"amount": 100})), &[("Idempotency-Key", "refund-1")]).await;
            assert_eq!((res.status, json(&res)["refunded_amount"].as_i64()), (200, Some(100)), "{label}: {}", res.body);
        }
        // Malformed keys are refused before anything runs.
        for bad_key in ["", &"k".repeat(256), "two words"] {
            let res = api_with(&server, k, "POST", "/payment_links", Some(other.clone()), &[("Idempotency-Key", bad_key)]).await;
            assert_eq!((res.status, error_of(&res).1.as_str()), (400, "idempotency_key_invalid"), "{label}: {bad_key:?}");
        }
        assert_eq!(links().await, 2, "{label}");

        // Two identical requests at once: one runs; the other waits its turn
        // (409 while the first runs, or the replay after).
        let burst = body!({"name": "Order #10", "amount": 900, "currency": "JPY"});
        let answers = futures_util::future::join_all(
            (0..6).map(|_| api_with(&server, k, "POST", "/payment_links", Some(burst.clone()), &[("Idempotency-Key", "order-10")])),
        )
        .await;
        let created = answers.iter().filter(|r| r.status == 201 && r.header("idempotent-replayed").is_none()).count();
        assert_eq!(created, 1, "{label}: {:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
        for res in &answers {
            assert!(res.status == 201 || (res.status == 409 && error_of(res).1 == "idempotency_request_in_progress"), "{label}: {}", res.body);
        }
        assert_eq!(count(&server.state.db, "SELECT COUNT(*) FROM links WHERE name = 'Order #10'").await, 1, "{label}");

        // A first request still unanswered: 409 in progress; cut off long ago
        // (the server died): 409 interrupted, never run a second time.
        let pool = server.state.db.pool();
        let now = paylinks::server::db::now_ms();
        for (idem, age_ms, code) in [("stuck-new", 1_000, "idempotency_request_in_progress"), ("stuck-old", 120_000, "idempotency_request_interrupted")] {
            let res =
                api_with(&server, k, "POST", "/payment_links", Some(body!({"name": idem, "amount": 500, "currency": "JPY"})), &[("Idempotency-Key", idem)])
                    .await;
            assert_eq!(res.status, 201);
            sqlx::query("UPDATE api_idempotency SET status_code = NULL, response_body = NULL, created_at = $1 WHERE idem_key = $2")
                .bind(now - age_ms)
                .bind(idem)
                .execute(pool)
                .await
                .unwrap();
            let res =
                api_with(&server, k, "POST", "/payment_links", Some(body!({"name": idem, "amount": 500, "currency": "JPY"})), &[("Idempotency-Key", idem)])
                    .await;
            assert_eq!((res.status, error_of(&res).1.as_str()), (409, code), "{label}: {}", res.body);
        }
        // After 24 hours a key is forgotten: the request runs again (and meets the taken name).
        sqlx::query("UPDATE api_idempotency SET created_at = $1 WHERE idem_key = 'order-7'").bind(now - 25 * 3_600_000).execute(pool).await.unwrap();
        let res = api_with(&server, k, "POST", "/payment_links", Some(order.clone()), &[("Idempotency-Key", "order-7")]).await;
        assert_eq!((res.status, error_of(&res).1.as_str()), (409, "name_taken"), "{label}: {}", res.body);
        assert!(paylinks::server::api::purge_idempotency_keys(&server.state.db, now + 25 * 3_600_000).await.unwrap() > 0);
        assert_eq!(count(&server.state.db, "SELECT COUNT(*) FROM api_idempotency").await, 0, "{label}");
    }
}

#[tokio::test]
async fn each_key_is_rate_limited_with_retry_after() {
    for db in test_databases().await {
        let server = start_server_configured(&db.url, |args| args.api_rate_limit = 5).await;
        let label = db.label;
        let mut shop = merchant(&server, "busy@example.com").await;
        let key = new_key(&mut shop, "Busy").await;
        let calm = new_key(&mut shop, "Calm").await;

        // 12 requests at once: at most 5 per one-second window, and they span at most two.
        let answers = futures_util::future::join_all((0..12).map(|_| api(&server, Some(&key), "GET", "/payment_links", None))).await;
        let refused: Vec<&Response> = answers.iter().filter(|r| r.status == 429).collect();
        assert!(refused.len() >= 2, "{label}: {:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
        assert!(answers.iter().all(|r| r.status == 200 || r.status == 429), "{label}");
        let limited = refused[0];
        assert_eq!(error_of(limited).0, "rate_limit_error", "{label}");
        let retry: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!((1..=2).contains(&retry), "{label}: {retry}");
        assert_eq!(limited.header("ratelimit-limit"), Some("5"));
        assert_eq!(limited.header("ratelimit-remaining"), Some("0"));

        // Another key is counted on its own.
        let res = api(&server, Some(&calm), "GET", "/payment_links", None).await;
        assert_eq!(res.status, 200, "{label}");
        assert_eq!(res.header("ratelimit-limit"), Some("5"));

        // After Retry-After the key works again.
        tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
        let res = api(&server, Some(&key), "GET", "/payment_links", None).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
    }
}

#[tokio::test]
async fn images_upload_as_multipart_and_links_filter_and_page() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let label = db.label;
        let mut shop = merchant(&server, "images-api@example.com").await;
        let key = new_key(&mut shop, "Backend").await;
        let auth = format!("Bearer {key}");
        let upload = |bytes: Vec<u8>, field: &'static str| {
            let auth = auth.clone();
            let server = &server;
            async move {
                let boundary = "paylinks-api-test";
                let mut body =
                    format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"x\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
                body.extend_from_slice(&bytes);
                body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
                let content_type = format!("multipart/form-data; boundary={boundary}");
                server.request_bytes("POST", "/api/v1/images", &[("Authorization", &auth), ("Content-Type", &content_type)], &body).await
            }
        };
        let res = upload(common::shop::png(40, 30), "file").await;
        assert_eq!(res.status, 201, "{label}: {}", res.body);
        let image = json(&res);
        let sha = image["id"].as_str().unwrap().to_owned();
        assert_eq!(sha.len(), 64);
        assert_eq!(server.get(&image["url"].as_str().unwrap().replace(&server.origin(), ""), &[]).await.status, 200);
        // Checked by content, not by name or declared type.
        let res = upload(b"GIF89a not really".to_vec(), "file").await;
        assert_eq!((res.status, error_of(&res).2.as_deref()), (422, Some("file")), "{label}: {}", res.body);
        let res = upload(common::shop::png(4, 4), "picture").await;
        assert_eq!((res.status, error_of(&res).1.as_str(), error_of(&res).2.as_deref()), (422, "required", Some("file")), "{label}");
        let res = upload(vec![0; 3 * 1024 * 1024], "file").await;
        assert_eq!((res.status, error_of(&res).2.as_deref()), (413, Some("file")), "{label}: {}", res.body);

        // A link takes the uploaded image by id; someone else's id is refused.
        let k = Some(key.as_str());
        let res = api(&server, k, "POST", "/payment_links", Some(body!({"name": "Pictured", "amount": 700, "currency": "JPY", "image": sha}))).await;
        assert_eq!(res.status, 201, "{label}: {}", res.body);
        assert!(json(&res)["image_url"].as_str().unwrap().ends_with(&sha), "{label}");
        let mut rival = merchant(&server, "rival-img@example.com").await;
        let theirs = new_key(&mut rival, "Theirs").await;
        let res = api(&server, Some(&theirs), "POST", "/payment_links", Some(body!({"name": "Stolen", "amount": 700, "currency": "JPY", "image": sha}))).await;
        assert_eq!((res.status / 100, error_of(&res).2.as_deref()), (4, Some("image")), "{label}: {}", res.body);

        // Filters and page size.
        for i in 0..4 {
            let res = api(
                &server,
                k,
                "POST",
                "/payment_links",
                Some(body!({"name": format!("Page {i}"), "amount": 500, "currency": "JPY", "status": if i % 2 == 0 { "inactive" } else { "active" }})),
            )
            .await;
            assert_eq!(res.status, 201, "{}", res.body);
        }
        let inactive = json(&api(&server, k, "GET", "/payment_links?status=inactive", None).await);
        let names: Vec<&str> = inactive["data"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Page 2", "Page 0"], "{label}");
        let mut seen = 0;
        let mut cursor = String::new();
        loop {
            let page = json(&api(&server, k, "GET", &format!("/payment_links?limit=2&cursor={cursor}"), None).await);
            let n = page["data"].as_array().unwrap().len();
            assert!(n <= 2, "{label}");
            seen += n;
            match page["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, 5, "{label}");
        for bad in ["/payment_links?limit=0", "/payment_links?limit=101", "/payments?limit=0", "/payment_links?status=sold"] {
            let res = api(&server, k, "GET", bad, None).await;
            assert_eq!(res.status, 422, "{label}: {bad}: {}", res.body);
        }
        let res = api(&server, k, "GET", "/payment_links?limit=lots", None).await;
        assert_eq!((res.status, error_of(&res).1.as_str()), (400, "invalid_query"), "{label}");
        let res = api(&server, k, "GET", "/payment_links/not-a-number", None).await;
        assert_eq!((res.status, error_of(&res).1.as_str()), (404, "not_found"), "{label}");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let res = server.get("/api/v1/openapi.json", &[]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let doc = json(&res);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut operations: Vec<String> =
        paths.iter().flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |method| format!("{} {path}", method.to_uppercase()))).collect();
    operations.sort();
    // The router's routes (src/server/api/mod.rs), all documented.
    assert_eq!(
        operations,
        [
            "GET /api/v1/payment_links",
            "GET /api/v1/payment_links/{id}",
            "GET /api/v1/payment_links/{id}/summary",
            "GET /api/v1/payments",
            "GET /api/v1/payments/{id}",
            "POST /api/v1/images",
            "POST /api/v1/payment_links",
            "POST /api/v1/payment_links/{id}",
            "POST /api/v1/payment_links/{id}/deactivate",
            "POST /api/v1/payments/{id}/refund",
        ]
    );
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for status in ["401", "422", "429"] {
                assert!(responses.contains_key(status), "{method} {path} lacks {status}");
            }
            let idempotent = operation["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == "Idempotency-Key");
            assert_eq!(idempotent, method == "post" && path != "/api/v1/images", "{method} {path}");
        }
    }
    // Webhooks (OpenAPI 3.1): every event a merchant can subscribe to, and ping.
    let webhooks = doc["webhooks"].as_object().unwrap();
    assert_eq!(webhooks.len(), 11, "{:?}", webhooks.keys());
    for (event, item) in webhooks {
        let body = &item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"];
        let schema = body.as_str().unwrap().rsplit('/').next().unwrap();
        assert!(doc["components"]["schemas"][schema].is_object(), "{event}: {schema} missing");
        let headers: Vec<&str> = item["post"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(headers, ["webhook-id", "webhook-timestamp", "webhook-signature"], "{event}");
        assert!(!item["post"]["summary"].as_str().unwrap().starts_with("docs-"), "{event}: an untranslated summary");
    }
    assert_eq!(webhooks["payment.captured"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/PaymentWebhook");
    assert_eq!(
        webhooks["payment_link.updated"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PaymentLinkWebhook"
    );
    for schema in ["PaymentLink", "Payment", "PaymentLinkSummary", "ErrorBody", "LinkFields", "PaymentWebhook", "PaymentLinkWebhook", "PingWebhook"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema} missing");
    }
    assert_eq!(doc["components"]["securitySchemes"]["secret_key"]["scheme"], "bearer");
}

#[tokio::test]
async fn the_api_reference_page_is_generated_from_the_document_in_each_language() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let doc = json(&server.get("/api/v1/openapi.json", &[]).await);
    for (lang, title) in [("ja", "Paylinks API リファレンス"), ("en", "Paylinks API reference"), ("ko", "Paylinks API 레퍼런스")] {
        let res = server.get(&format!("/docs/api?lang={lang}"), &[]).await;
        assert_eq!(res.status, 200, "{lang}");
        assert!(res.body.contains(&format!("<html lang=\"{lang}\"")), "{lang}");
        assert!(res.body.contains(title), "{lang}: title");
        // Every documented path and every request field is on the page.
        for (path, item) in doc["paths"].as_object().unwrap() {
            assert!(res.body.contains(path.as_str()), "{lang}: {path}");
            for op in item.as_object().unwrap().values() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    assert!(res.body.contains(&format!("<code>{}</code>", p["name"].as_str().unwrap())), "{lang}: {path} {}", p["name"]);
                }
            }
        }
        for field in doc["components"]["schemas"]["LinkFields"]["properties"].as_object().unwrap().keys() {
            assert!(res.body.contains(&format!("<code>{field}</code>")), "{lang}: {field}");
        }
        assert!(!res.body.contains("<script"), "{lang}: no script on the reference");
    }
    // Without ?lang, the visitor's language.
    let res = server.get("/docs/api", &[("Accept-Language", "ko-KR,ko;q=0.9")]).await;
    assert!(res.body.contains("<html lang=\"ko\""));
}

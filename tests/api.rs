//! The merchant REST API (`/api/v1`): secret keys per mode, payment links,
//! their summary, and the stable error shape.

mod common;

use common::shop::{card_form, json, merchant, page_token, pay};
use common::{start_server, test_databases, Browser, Response, TestServer};
use serde_json::{json as body, Value};

async fn api(server: &TestServer, key: Option<&str>, method: &str, path: &str, payload: Option<Value>) -> Response {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    // From a shop's backend: no Origin, no cookies.
    let text = payload.map(|p| p.to_string()).unwrap_or_default();
    server.request(method, &format!("/api/v1{path}"), &headers, &text).await
}

fn error_of(res: &Response) -> (String, String, Option<String>) {
    let error = &json(res)["error"];
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
        let res = api(&server, k, "POST", "/payment_links", Some(body!({
            "name": "Order #1001", "description": "Gift box", "amount": 1050, "currency": "USD",
            "language": "en", "usage_limit": 3, "expires_at": "2031-01-02T03:04:05Z"
        })))
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
        let res = server.request("POST", "/api/v1/payment_links", &[("Content-Type", "application/json"), ("Authorization", &format!("Bearer {key}"))], "{\"name\": ").await;
        assert_eq!((res.status, error_of(&res).1.as_str()), (400, "invalid_json"), "{label}");
        let res = api(&server, k, "GET", "/nothing/here", None).await;
        assert_eq!((res.status, error_of(&res).1.as_str()), (404, "unknown_endpoint"), "{label}");

        // Partial update keeps what is not sent; amount and currency stay.
        let res = api(&server, k, "POST", &format!("/payment_links/{id}"), Some(body!({"description": "Gift box, wrapped"}))).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        let updated = json(&res);
        assert_eq!((updated["name"].as_str(), updated["usage_limit"].as_i64()), (Some("Order #1001"), Some(3)));
        assert_eq!(updated["expires_at"], "2031-01-02T03:04:05Z");
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

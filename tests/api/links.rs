//! Payment links through real HTTP on every backend.
use crate::common;

use common::shop::{jpeg, png};
use common::{start_server, test_databases, Browser, Response, TestServer};
use paylinks::server::admin::{run as admin, AdminCommand};
use serde_json::Value;
use std::collections::BTreeSet;

const PASSWORD: &str = "correct horse battery";

fn json(response: &Response) -> Value {
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.body))
}

async fn merchant<'a>(server: &'a TestServer, email: &str) -> Browser<'a> {
    let mut browser = server.browser();
    let res = browser.call("sign_up", &[("business_name", "Tea"), ("email", email), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = browser.call("sign_in", &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    browser
}

async fn create(browser: &mut Browser<'_>, fields: &[(&str, &str)]) -> Response {
    let form: Vec<(String, &str)> = fields.iter().map(|(k, v)| (format!("link[{k}]"), *v)).collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    browser.call("create_link", &form).await
}

async fn update(browser: &mut Browser<'_>, id: i64, fields: &[(&str, &str)]) -> Response {
    let id = id.to_string();
    let mut form: Vec<(String, &str)> = vec![("id".into(), id.as_str())];
    form.extend(fields.iter().map(|(k, v)| (format!("link[{k}]"), *v)));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    browser.call("update_link", &form).await
}

async fn list(browser: &mut Browser<'_>, q: &str, after: &str) -> Value {
    let res = browser.call("list_links", &[("q", q), ("after", after)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    json(&res)
}

#[tokio::test]
async fn create_edit_list_and_deactivate() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "shop@example.com").await;
        let res =
            create(&mut shop, &[("name", " Matcha set "), ("amount", "1,500"), ("currency", "JPY"), ("language", "ja"), ("description", "2 tins\n税込")]).await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        let link = json(&res);
        assert_eq!((link["name"].as_str(), link["amount"].as_i64(), link["currency"].as_str()), (Some("Matcha set"), Some(1500), Some("JPY")));
        assert_eq!(link["description"], "2 tins\n税込");
        assert_eq!((link["status"].as_str(), link["availability"].as_str(), link["mode"].as_str()), (Some("active"), Some("active"), Some("test")));
        let slug = link["slug"].as_str().unwrap();
        assert_eq!(slug.len(), 22);
        assert_eq!(link["url"].as_str().unwrap(), format!("{}/pay/{slug}", server.origin()));
        let id = link["id"].as_i64().unwrap();

        // Quick Payment Link: name and price only; language follows the dashboard.
        let quick = json(&create(&mut shop, &[("name", "Gift card"), ("amount", "1050"), ("currency", "USD")]).await);
        assert_eq!((quick["amount"].as_i64(), quick["language"].as_str()), (Some(1050), Some("en")));

        let res = update(&mut shop, id, &[("name", "Matcha set (large)"), ("language", "en"), ("status", "active"), ("usage_limit", "5")]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let edited = json(&res);
        assert_eq!((edited["name"].as_str(), edited["language"].as_str(), edited["usage_limit"].as_i64()), (Some("Matcha set (large)"), Some("en"), Some(5)));
        assert_eq!(edited["amount"], 1500, "amount untouched");
        assert_eq!(edited["slug"].as_str(), Some(slug), "the URL never changes");

        let res = shop.call("set_link_status", &[("id", &id.to_string()), ("status", "inactive")]).await;
        assert_eq!(json(&res)["availability"], "inactive");
        let page = list(&mut shop, "", "").await;
        let names: Vec<&str> = page["links"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Gift card", "Matcha set (large)"], "{}", db.label);
        assert_eq!(page["next"], Value::Null);
        let res = shop.call("set_link_status", &[("id", &id.to_string()), ("status", "active")]).await;
        assert_eq!(json(&res)["availability"], "active");
    }
}

#[tokio::test]
async fn names_are_unique_per_merchant_and_mode_ignoring_case_and_width() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "shop@example.com").await;
        assert_eq!(create(&mut shop, &[("name", "Green Tea"), ("amount", "500"), ("currency", "JPY")]).await.status, 200);
        for twin in ["green tea", "ＧＲＥＥＮ　ＴＥＡ", " Green Tea "] {
            let res = create(&mut shop, &[("name", twin), ("amount", "600"), ("currency", "JPY")]).await;
            assert_eq!(res.status, 409, "{}: {twin:?}", db.label);
            assert_eq!(json(&res)["Invalid"]["error"], "NameTaken");
        }
        // Another merchant may use the name.
        let mut other = merchant(&server, "other@example.com").await;
        assert_eq!(create(&mut other, &[("name", "Green Tea"), ("amount", "500"), ("currency", "JPY")]).await.status, 200);
        // Renaming onto an existing name is refused too.
        let second = json(&create(&mut shop, &[("name", "Black Tea"), ("amount", "500"), ("currency", "JPY")]).await);
        let res = update(&mut shop, second["id"].as_i64().unwrap(), &[("name", "GREEN TEA")]).await;
        assert_eq!(res.status, 409);
    }
}

#[tokio::test]
async fn concurrent_creates_with_one_name_make_one_link() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let shop = merchant(&server, "shop@example.com").await;
        let cookies = shop.cookies.clone();
        let attempts = (0..8).map(|i| {
            let server = &server;
            let cookies = cookies.clone();
            async move {
                let mut browser = server.browser();
                browser.cookies = cookies;
                let name = if i % 2 == 0 { "Same Name" } else { "same name" };
                create(&mut browser, &[("name", name), ("amount", "1000"), ("currency", "JPY")]).await.status
            }
        });
        let statuses = futures::future::join_all(attempts).await;
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{}: {statuses:?}", db.label);
        assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    }
}

#[tokio::test]
async fn amount_and_currency_cannot_change() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "shop@example.com").await;
        let id = json(&create(&mut shop, &[("name", "Tea"), ("amount", "1000"), ("currency", "JPY")]).await)["id"].as_i64().unwrap();
        for change in [[("amount", "2000"), ("currency", "JPY")], [("amount", "1000"), ("currency", "USD")]] {
            let res = update(&mut shop, id, &[("name", "Tea"), change[0], change[1]]).await;
            assert_eq!(res.status, 422, "{}: {change:?}", db.label);
            assert_eq!(json(&res)["Invalid"]["error"], "Immutable");
        }
        // The same values are harmless.
        assert_eq!(update(&mut shop, id, &[("name", "Tea"), ("amount", "1000"), ("currency", "JPY")]).await.status, 200);
        // And the database refuses even a direct change.
        let direct = sqlx::query("UPDATE links SET amount = 1 WHERE id = $1").bind(id).execute(server.state.db.pool()).await;
        assert!(direct.is_err(), "{}: trigger missing", db.label);
        let link = json(&shop.call("get_link", &[("id", &id.to_string())]).await);
        assert_eq!((link["amount"].as_i64(), link["currency"].as_str()), (Some(1000), Some("JPY")));
    }
}

#[tokio::test]
async fn bad_link_input_is_refused_and_stores_nothing() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let mut shop = merchant(&server, "shop@example.com").await;
    let long_name = "名".repeat(101);
    let long_description = "x".repeat(5001);
    // (form fields, the field refused, its error code)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (&[("name", ""), ("amount", "1000"), ("currency", "JPY")], "name", "Required"),
        (&[("name", "   "), ("amount", "1000"), ("currency", "JPY")], "name", "Required"),
        (&[("name", &long_name), ("amount", "1000"), ("currency", "JPY")], "name", "TooLong"),
        (&[("name", "Tea"), ("amount", "-100"), ("currency", "JPY")], "amount", "AmountMalformed"),
        (&[("name", "Tea"), ("amount", "0"), ("currency", "JPY")], "amount", "AmountBelowMinimum"),
        (&[("name", "Tea"), ("amount", "49"), ("currency", "JPY")], "amount", "AmountBelowMinimum"),
        (&[("name", "Tea"), ("amount", "49"), ("currency", "USD")], "amount", "AmountBelowMinimum"),
        (&[("name", "Tea"), ("amount", "99"), ("currency", "KRW")], "amount", "AmountBelowMinimum"),
        (&[("name", "Tea"), ("amount", "10000000"), ("currency", "JPY")], "amount", "AmountAboveMaximum"),
        (&[("name", "Tea"), ("amount", "99999999999999999999999"), ("currency", "JPY")], "amount", "AmountAboveMaximum"),
        (&[("name", "Tea"), ("amount", "10.5"), ("currency", "JPY")], "amount", "AmountNotWhole"),
        (&[("name", "Tea"), ("amount", "10.50"), ("currency", "USD")], "amount", "AmountNotWhole"),
        (&[("name", "Tea"), ("amount", "10,50"), ("currency", "EUR")], "amount", "AmountAmbiguous"),
        (&[("name", "Tea"), ("amount", "1e3"), ("currency", "JPY")], "amount", "AmountMalformed"),
        (&[("name", "Tea"), ("amount", "1000"), ("currency", "GBP")], "currency", "NotAllowed"),
        (&[("name", "Tea"), ("amount", "1000"), ("currency", "JPY"), ("language", "fr")], "language", "NotAllowed"),
        (&[("name", "Tea"), ("amount", "1000"), ("currency", "JPY"), ("usage_limit", "0")], "usage_limit", "NumberInvalid"),
        (&[("name", "Tea"), ("amount", "1000"), ("currency", "JPY"), ("expires_at", "2001-01-01T00:00")], "expires_at", "DateInPast"),
        (&[("name", "Tea"), ("amount", "1000"), ("currency", "JPY"), ("expires_at", "soon")], "expires_at", "DateInvalid"),
        (&[("name", "Tea"), ("amount", "1000"), ("currency", "JPY"), ("description", &long_description)], "description", "TooLong"),
    ];
    for (fields, field, kind) in cases {
        let res = create(&mut shop, fields).await;
        assert_eq!(res.status, 422, "{fields:?}: {}", res.body);
        assert_eq!(json(&res)["Invalid"]["field"], *field, "{fields:?}");
        assert!(res.body.contains(kind), "{fields:?}: {}", res.body);
    }
    assert_eq!(list(&mut shop, "", "").await["links"].as_array().unwrap().len(), 0);
    // Script and SQL are just text: stored verbatim.
    let name = "<script>alert(1)</script>'; DROP TABLE links;--";
    let res = create(&mut shop, &[("name", name), ("amount", "1000"), ("currency", "JPY")]).await;
    assert_eq!(json(&res)["name"], name);
}

#[tokio::test]
async fn usage_limit_cannot_drop_below_captured_payments() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "shop@example.com").await;
        let id = json(&create(&mut shop, &[("name", "Tea"), ("amount", "1000"), ("currency", "JPY")]).await)["id"].as_i64().unwrap();
        sqlx::query("UPDATE links SET captured_count = 3 WHERE id = $1").bind(id).execute(server.state.db.pool()).await.unwrap();
        let res = update(&mut shop, id, &[("name", "Tea"), ("usage_limit", "2")]).await;
        assert_eq!(res.status, 422, "{}", db.label);
        assert_eq!(json(&res)["Invalid"]["error"]["LimitBelowCaptured"]["captured"], 3);
        let res = update(&mut shop, id, &[("name", "Tea"), ("usage_limit", "3")]).await;
        assert_eq!(json(&res)["availability"], "limit_reached");
    }
}

#[tokio::test]
async fn links_belong_to_one_merchant_and_one_mode() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "shop@example.com").await;
        let mut other = merchant(&server, "other@example.com").await;
        let id = json(&create(&mut shop, &[("name", "Tea"), ("amount", "1000"), ("currency", "JPY")]).await)["id"].as_i64().unwrap();
        let id_text = id.to_string();
        assert_eq!(other.call("get_link", &[("id", &id_text)]).await.status, 404, "{}", db.label);
        assert_eq!(update(&mut other, id, &[("name", "Stolen")]).await.status, 404);
        assert_eq!(other.call("set_link_status", &[("id", &id_text), ("status", "inactive")]).await.status, 404);
        assert!(list(&mut other, "", "").await["links"].as_array().unwrap().is_empty());
        assert_eq!(server.browser().call("list_links", &[("q", ""), ("after", "")]).await.status, 401);
        assert_eq!(json(&shop.call("get_link", &[("id", &id_text)]).await)["name"], "Tea", "untouched");

        // Live mode sees none of the test links, and the reverse.
        admin(&server.state.db, AdminCommand::Approve { email: "shop@example.com".into() }).await.ok();
        sqlx::query("INSERT INTO live_applications (account_id, status, updated_at) SELECT id, 'approved', 0 FROM accounts WHERE email = 'shop@example.com'")
            .execute(server.state.db.pool())
            .await
            .unwrap();
        assert_eq!(shop.call("set_mode", &[("mode", "live")]).await.status, 200);
        assert!(list(&mut shop, "", "").await["links"].as_array().unwrap().is_empty(), "{}", db.label);
        assert_eq!(shop.call("get_link", &[("id", &id_text)]).await.status, 404);
        let live = json(&create(&mut shop, &[("name", "Tea"), ("amount", "1000"), ("currency", "JPY")]).await);
        assert_eq!(live["mode"], "live", "the same name is free in the other mode");
        shop.call("set_mode", &[("mode", "test")]).await;
        let names: Vec<i64> = list(&mut shop, "", "").await["links"].as_array().unwrap().iter().map(|l| l["id"].as_i64().unwrap()).collect();
        assert_eq!(names, [id]);
    }
}

#[tokio::test]
async fn keyset_pagination_and_search() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let mut shop = merchant(&server, "shop@example.com").await;
    for i in 0..45 {
        let name = if i % 3 == 0 { format!("Matcha {i:02}") } else { format!("Sencha {i:02}") };
        assert_eq!(create(&mut shop, &[("name", &name), ("amount", "500"), ("currency", "JPY")]).await.status, 200);
    }
    let mut seen = BTreeSet::new();
    let mut after = String::new();
    let mut sizes = Vec::new();
    loop {
        let page = list(&mut shop, "", &after).await;
        let links = page["links"].as_array().unwrap();
        sizes.push(links.len());
        for link in links {
            assert!(seen.insert(link["id"].as_i64().unwrap()), "a link appeared twice");
        }
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(sizes, [20, 20, 5]);
    assert_eq!(seen.len(), 45);
    let matcha = list(&mut shop, "ＭＡＴＣＨＡ", "").await;
    assert_eq!(matcha["links"].as_array().unwrap().len(), 15);
    assert!(matcha["links"].as_array().unwrap().iter().all(|l| l["name"].as_str().unwrap().starts_with("Matcha")));
    assert_eq!(list(&mut shop, "50%_", "").await["links"].as_array().unwrap().len(), 0, "LIKE wildcards are literal");
    assert_eq!(shop.call("list_links", &[("q", ""), ("after", "garbage")]).await.status, 400);
}

async fn image_count(server: &TestServer) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) FROM images").fetch_one(server.state.db.pool()).await.unwrap().get(0)
}

#[tokio::test]
async fn images_are_checked_by_content_before_anything_is_stored() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "shop@example.com").await;
        let gif =
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
                .to_vec();
        let full = png(64, 64);
        let truncated = full[..full.len() / 2].to_vec();
        let mut oversized = png(8, 8);
        oversized.resize(2 * 1024 * 1024 + 1, 0);
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("renamed.png", gif, "ImageType"),
            ("truncated.png", truncated, "ImageCorrupt"),
            ("big.png", oversized, "ImageTooLarge"),
            ("empty.png", vec![], "ImageEmpty"),
            ("logo.png", svg, "ImageType"),
        ];
        for (name, bytes, kind) in cases {
            let res = shop.upload("upload_image", "image", name, "image/png", &bytes).await;
            assert_eq!(res.status, 422, "{}: {name}: {}", db.label, res.body);
            assert!(res.body.contains(kind), "{name}: {}", res.body);
        }
        // Far beyond the limit: cut off by the body limit, not buffered.
        let huge = vec![0u8; 10 * 1024 * 1024];
        let res = shop.upload("upload_image", "image", "huge.png", "image/png", &huge).await;
        assert!(res.status == 413 || res.status == 422, "{}: {}", res.status, res.body);
        assert_eq!(image_count(&server).await, 0, "{}: nothing may be stored", db.label);

        // A real JPG and PNG are accepted, whatever the file is called.
        let res = shop.upload("upload_image", "image", "photo.gif", "image/gif", &jpeg()).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let res = shop.upload("upload_image", "image", "photo.png", "image/png", &full).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let uploaded = json(&res);
        // The same picture twice is stored once.
        shop.upload("upload_image", "image", "again.png", "image/png", &full).await;
        assert_eq!(image_count(&server).await, 2);

        let sha = uploaded["sha"].as_str().unwrap();
        let link = json(&create(&mut shop, &[("name", "Tea"), ("amount", "1000"), ("currency", "JPY"), ("image", sha)]).await);
        let url = link["image_url"].as_str().unwrap().to_owned();
        assert_eq!(url, format!("/img/{sha}"));
        let res = server.get(&url, &[]).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("content-type"), Some("image/png"));
        assert_eq!(res.bytes, full, "served byte for byte");
        assert_eq!(res.header("etag"), Some(format!("\"{sha}\"").as_str()));
        assert!(res.header("cache-control").unwrap().contains("immutable"));
        let etag = format!("\"{sha}\"");
        assert_eq!(server.get(&url, &[("If-None-Match", &etag)]).await.status, 304);
        assert_eq!(server.get("/img/0000", &[]).await.status, 404);

        // Another merchant cannot attach this merchant's image.
        let mut other = merchant(&server, "other@example.com").await;
        let res = create(&mut other, &[("name", "Tea"), ("amount", "1000"), ("currency", "JPY"), ("image", sha)]).await;
        assert_eq!(res.status, 422);
        assert_eq!(json(&res)["Invalid"]["field"], "image");
        // Removing the image from a link.
        let id = link["id"].as_i64().unwrap();
        let edited = json(&update(&mut shop, id, &[("name", "Tea"), ("image", "")]).await);
        assert_eq!(edited["image_url"], Value::Null);
    }
}

//! Bad input, table-driven, through real HTTP: every case gets the expected
//! 4xx with a message the dashboard or checkout can show in all three
//! languages, and leaves every table exactly as it was.

use crate::common;

use common::shop::{card_form, link, merchant, merchant_public_id, page_token, pay, payment_of, png, PASSWORD};
use common::{start_server, test_databases, Browser, Response, TestServer};
use paylinks::error::AppError;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    Owner,
    /// Another merchant, with links and payments of their own.
    Other,
    /// The owner's account, with a session that has expired.
    Expired,
}

enum Send {
    /// A `#[server]` function called like the hydrated app does (form-encoded).
    Call(&'static str, Vec<(String, String)>),
    Upload(&'static str, Vec<u8>),
    Raw {
        method: &'static str,
        path: String,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
}

enum Expect {
    /// A JSON `AppError` whose message id is this one.
    Error(&'static str),
    /// An HTML page in `lang` showing the translation of this message id.
    Page { lang: &'static str, id: &'static str },
    /// A plain-text answer in `lang`: the translation of this message id.
    Said { lang: &'static str, id: &'static str },
    /// A machine endpoint (KOMOJU's webhooks): a short plain-text reason.
    Text,
    /// The REST API's error shape with this stable `code` (and a message).
    Api(&'static str),
}

struct Case {
    what: String,
    who: Who,
    send: Send,
    status: u16,
    expect: Expect,
}

fn call(endpoint: &'static str, fields: &[(&str, &str)]) -> Send {
    Send::Call(endpoint, fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

/// `create_link` with the required fields, some replaced or added.
fn create_link(overrides: &[(&str, &str)]) -> Send {
    let mut fields: BTreeMap<&str, &str> = [("name", "Matcha"), ("amount", "1000"), ("currency", "JPY"), ("language", "ja")].into();
    fields.extend(overrides.iter().copied());
    Send::Call("create_link", fields.into_iter().map(|(k, v)| (format!("link[{k}]"), v.to_owned())).collect())
}

/// `pay` with a valid test card on `slug`, some fields replaced.
fn pay_with(slug: &str, token: &str, overrides: &[(&str, &str)]) -> Send {
    let mut fields: Vec<(String, String)> = card_form(slug, token, "4111111111111111").into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    for (key, value) in overrides {
        let key = format!("pay[{key}]");
        match fields.iter_mut().find(|(k, _)| *k == key) {
            Some(field) => field.1 = value.to_string(),
            None => fields.push((key, value.to_string())),
        }
    }
    Send::Call("pay", fields)
}

fn case(what: &str, who: Who, send: Send, status: u16, expect: Expect) -> Case {
    Case { what: what.to_owned(), who, send, status, expect }
}

/// A PNG that claims 60,000 × 60,000 pixels in a few bytes.
fn decompression_bomb() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    png
}

/// Every row of every table but the ones that legitimately move on a refused
/// request (sessions, attempt counters), as text.
async fn snapshot(server: &TestServer) -> BTreeMap<String, Vec<String>> {
    use sqlx::{Column, Row};
    let db = server.state.db.pool();
    let mut out = BTreeMap::new();
    for table in common::app_tables(db).await {
        // Also the API's per-second request counters, which count refused requests too.
        if ["sessions", "auth_throttle", "api_rate_windows"].contains(&table.as_str()) {
            continue;
        }
        // The email outbox's worker sends queued emails (each merchant's
        // sign-up confirmation) meanwhile: bad input must queue none, so
        // only which emails are queued counts, not how their sending goes.
        let columns = if table == "email_jobs" { "dedupe_key" } else { "*" };
        let rows = sqlx::query(&format!("SELECT {columns} FROM {table}")).fetch_all(db).await.unwrap();
        let mut texts: Vec<String> = rows
            .iter()
            .map(|row| {
                (0..row.columns().len())
                    .map(|i| {
                        let name = row.column(i).name();
                        let value = row
                            .try_get::<Option<String>, _>(i)
                            .map(|v| format!("{v:?}"))
                            .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|v| format!("{v:?}")))
                            .or_else(|_| row.try_get::<Option<i32>, _>(i).map(|v| format!("{v:?}")))
                            .or_else(|_| row.try_get::<Option<f64>, _>(i).map(|v| format!("{v:?}")))
                            .or_else(|_| row.try_get::<Option<bool>, _>(i).map(|v| format!("{v:?}")))
                            .or_else(|_| row.try_get::<Option<Vec<u8>>, _>(i).map(|v| format!("{:?}", v.map(|b| b.len()))))
                            .unwrap_or_else(|e| panic!("{table}.{name}: {e}"));
                        format!("{name}={value}")
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        texts.sort();
        out.insert(table, texts);
    }
    out
}

/// The text of `id` in `lang`, if the bundle has it (first line, no variables).
fn translation(lang: &str, id: &str) -> Option<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales").join(lang);
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix(id).and_then(|r| r.trim_start().strip_prefix('=')) {
                return Some(rest.trim().to_owned());
            }
        }
    }
    None
}

async fn send(server: &TestServer, browser: &mut Browser<'_>, request: &Send) -> Response {
    match request {
        Send::Call(endpoint, fields) => {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            browser.call(endpoint, &fields).await
        }
        Send::Upload(name, bytes) => browser.upload("upload_image", "image", name, "image/png", bytes).await,
        Send::Raw { method, path, headers, body } => {
            let cookie = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            let mut all: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if !cookie.is_empty() {
                all.push(("Cookie", &cookie));
            }
            server.request_bytes(method, path, &all, body).await
        }
    }
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_changes_nothing() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let label = db.label;

        // The world the cases run against.
        let mut expired = merchant(&server, "expired@example.com").await;
        sqlx::query("UPDATE sessions SET expires_at = 0").execute(server.state.db.pool()).await.unwrap();
        let mut owner = server.browser();
        let res = owner.call("sign_in", &[("email", "expired@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let (link_id, slug) = link(&mut owner, "Sencha", "1200", &[]).await;
        let (_, inactive_slug) = link(&mut owner, "Hojicha", "800", &[("status", "inactive")]).await;
        let token = page_token(&server, &slug).await;
        let paid = payment_of(&server, &pay(&server, &card_form(&slug, &token, "4111111111111111")).await).await;
        let paid_id = paid.view.public_id.clone();
        let mut other = merchant(&server, "other@example.com").await;
        let (other_link, other_slug) = link(&mut other, "Genmaicha", "600", &[]).await;
        let other_token = page_token(&server, &other_slug).await;
        let other_paid = payment_of(&server, &pay(&server, &card_form(&other_slug, &other_token, "4111111111111111")).await).await;
        let other_paid_id = other_paid.view.public_id.clone();
        let fresh = page_token(&server, &slug).await;
        // The owner connects KOMOJU; one webhook delivery has already taken effect.
        let webhook_secret = "whsec-bad-input-0123";
        let res = owner.call("save_komoju_settings", &[("secret_key", "sk_live_badinput0123456789"), ("webhook_secret", webhook_secret)]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let hook = format!("/webhooks/komoju/{}", merchant_public_id(&server, "expired@example.com").await);
        let event =
            br#"{"id":"evt_1","type":"payment.captured","resource":"event","data":{"id":"komoju_unknown","status":"captured","amount":1200,"currency":"JPY"}}"#
                .to_vec();
        let signed = |body: &[u8], delivery: &str| -> Vec<(&'static str, String)> {
            vec![
                ("Content-Type", "application/json".into()),
                ("X-Komoju-ID", delivery.into()),
                ("X-Komoju-Signature", common::shop::komoju_signature(webhook_secret, body)),
            ]
        };
        let first = server
            .request_bytes(
                "POST",
                &hook,
                &[
                    ("Content-Type", "application/json"),
                    ("X-Komoju-ID", "delivery-1"),
                    ("X-Komoju-Signature", &common::shop::komoju_signature(webhook_secret, &event)),
                ],
                &event,
            )
            .await;
        assert_eq!(first.status, 200, "{}", first.body);
        let mut anonymous = server.browser();
        // The owner's REST API key, used once so its "last used" is already set.
        let key = common::shop::json(&owner.call("create_api_key", &[("name", "Backend")]).await)["secret"].as_str().unwrap().to_owned();
        let bearer = format!("Bearer {key}");
        assert_eq!(server.get("/api/v1/payment_links", &[("Authorization", &bearer)]).await.status, 200);
        let api = |method: &'static str, path: &str, body: &str| Send::Raw {
            method,
            path: format!("/api/v1{path}"),
            headers: vec![("Authorization", bearer.clone()), ("Content-Type", "application/json".to_owned())],
            body: body.as_bytes().to_vec(),
        };

        let kb10 = "a".repeat(10 * 1024);
        let mb10 = "a".repeat(10 * 1024 * 1024);
        let link_id_text = link_id.to_string();
        let other_link_text = other_link.to_string();
        let origin = server.origin();
        let form_type = ("Content-Type", "application/x-www-form-urlencoded".to_owned());
        let mut oversized = png(8, 8);
        oversized.resize(2 * 1024 * 1024 + 1, 0);
        let gif =
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
                .to_vec();
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
        let invalid_utf8 = |path: &str, field: &str| Send::Raw {
            method: "POST",
            path: path.to_owned(),
            headers: vec![form_type.clone(), ("Origin", origin.clone())],
            body: [format!("{field}=").into_bytes(), vec![0xff, 0xfe, 0xc3, 0x28]].concat(),
        };
        use Expect::{Api, Error, Page, Said, Text};
        use Who::*;

        let mut cases = vec![
            // Sign up and sign in.
            case(
                "sign up: empty email",
                Anonymous,
                call("sign_up", &[("business_name", "Shop"), ("email", ""), ("password", PASSWORD)]),
                422,
                Error("error-required"),
            ),
            case(
                "sign up: whitespace email",
                Anonymous,
                call("sign_up", &[("business_name", "Shop"), ("email", "   "), ("password", PASSWORD)]),
                422,
                Error("error-required"),
            ),
            case(
                "sign up: 10 KB email",
                Anonymous,
                call("sign_up", &[("business_name", "Shop"), ("email", &kb10), ("password", PASSWORD)]),
                422,
                Error("error-too-long"),
            ),
            case(
                "sign up: not an email",
                Anonymous,
                call("sign_up", &[("business_name", "Shop"), ("email", "taro"), ("password", PASSWORD)]),
                422,
                Error("error-email-invalid"),
            ),
            case(
                "sign up: short password",
                Anonymous,
                call("sign_up", &[("business_name", "Shop"), ("email", "new@example.com"), ("password", "short")]),
                422,
                Error("error-too-short"),
            ),
            case(
                "sign up: empty business name",
                Anonymous,
                call("sign_up", &[("business_name", ""), ("email", "new@example.com"), ("password", PASSWORD)]),
                422,
                Error("error-required"),
            ),
            case(
                "sign up: control characters",
                Anonymous,
                call("sign_up", &[("business_name", "Shop\u{7}\u{0}"), ("email", "new@example.com"), ("password", PASSWORD)]),
                422,
                Error("error-control-characters"),
            ),
            case("sign up: missing field", Anonymous, call("sign_up", &[("email", "new@example.com")]), 400, Error("error-bad-request")),
            case("sign up: invalid UTF-8", Anonymous, invalid_utf8("/api/sign_up", "business_name"), 400, Error("error-bad-request")),
            case(
                "sign in: wrong password",
                Anonymous,
                call("sign_in", &[("email", "other@example.com"), ("password", "wrong password!")]),
                401,
                Error("error-invalid-credentials"),
            ),
            case("sign in: empty", Anonymous, call("sign_in", &[("email", ""), ("password", "")]), 401, Error("error-invalid-credentials")),
            // Creating links: names.
            case("link: empty name", Owner, create_link(&[("name", "")]), 422, Error("error-required")),
            case("link: whitespace-only name", Owner, create_link(&[("name", " \u{3000}\t ")]), 422, Error("error-required")),
            case("link: 10 KB name", Owner, create_link(&[("name", &kb10)]), 422, Error("error-too-long")),
            case("link: control characters in name", Owner, create_link(&[("name", "Tea\u{1b}[31m")]), 422, Error("error-control-characters")),
            case("link: name taken (other case and width)", Owner, create_link(&[("name", "ＳＥＮＣＨＡ")]), 409, Error("error-name-taken")),
            case("link: 10 KB description", Owner, create_link(&[("description", &kb10)]), 422, Error("error-too-long")),
            case("link: invalid UTF-8", Owner, invalid_utf8("/api/create_link", "link[name]"), 400, Error("error-bad-request")),
            // Amounts and currencies.
            case("amount: empty", Owner, create_link(&[("amount", "")]), 422, Error("error-amount-malformed")),
            case("amount: negative", Owner, create_link(&[("amount", "-1000")]), 422, Error("error-amount-malformed")),
            case("amount: zero", Owner, create_link(&[("amount", "0")]), 422, Error("error-amount-below-minimum")),
            case("amount: below the JPY minimum", Owner, create_link(&[("amount", "49")]), 422, Error("error-amount-below-minimum")),
            case(
                "amount: below the USD minimum (in cents)",
                Owner,
                create_link(&[("amount", "49"), ("currency", "USD")]),
                422,
                Error("error-amount-below-minimum"),
            ),
            case("amount: above the maximum", Owner, create_link(&[("amount", "10000000")]), 422, Error("error-amount-above-maximum")),
            case("amount: fractional yen", Owner, create_link(&[("amount", "10.5")]), 422, Error("error-amount-not-whole")),
            case("amount: dollars, not cents", Owner, create_link(&[("amount", "10.50"), ("currency", "USD")]), 422, Error("error-amount-not-whole")),
            case("amount: decimal comma", Owner, create_link(&[("amount", "10,50"), ("currency", "EUR")]), 422, Error("error-amount-ambiguous")),
            case("amount: European grouping", Owner, create_link(&[("amount", "1.050,00"), ("currency", "EUR")]), 422, Error("error-amount-ambiguous")),
            case("amount: 1e3", Owner, create_link(&[("amount", "1e3")]), 422, Error("error-amount-malformed")),
            case("amount: overflows i64", Owner, create_link(&[("amount", "99999999999999999999999")]), 422, Error("error-amount-above-maximum")),
            case("amount: hex", Owner, create_link(&[("amount", "0x10")]), 422, Error("error-amount-malformed")),
            case("amount: full-width minus", Owner, create_link(&[("amount", "－500")]), 422, Error("error-amount-malformed")),
            case("currency: unknown", Owner, create_link(&[("currency", "GBP")]), 422, Error("error-not-allowed")),
            case("currency: lower-case junk", Owner, create_link(&[("currency", "yen")]), 422, Error("error-not-allowed")),
            case("language: unsupported", Owner, create_link(&[("language", "fr")]), 422, Error("error-not-allowed")),
            case("status: unknown", Owner, create_link(&[("status", "paused")]), 422, Error("error-not-allowed")),
            case("usage limit: zero", Owner, create_link(&[("usage_limit", "0")]), 422, Error("error-number-invalid")),
            case("usage limit: negative", Owner, create_link(&[("usage_limit", "-3")]), 422, Error("error-number-invalid")),
            case("usage limit: text", Owner, create_link(&[("usage_limit", "ten")]), 422, Error("error-number-invalid")),
            case("expiry: in the past", Owner, create_link(&[("expires_at", "2001-01-01T00:00")]), 422, Error("error-date-in-past")),
            case("expiry: not a date", Owner, create_link(&[("expires_at", "tomorrow")]), 422, Error("error-date-invalid")),
            case("image: not uploaded", Owner, create_link(&[("image", &"0".repeat(64))]), 422, Error("error-not-allowed")),
            // Editing links.
            case(
                "update: amount cannot change",
                Owner,
                Send::Call(
                    "update_link",
                    vec![
                        ("id".into(), link_id_text.clone()),
                        ("link[name]".into(), "Sencha".into()),
                        ("link[amount]".into(), "5000".into()),
                        ("link[currency]".into(), "JPY".into()),
                    ],
                ),
                422,
                Error("error-immutable"),
            ),
            case(
                "update: another merchant's link",
                Owner,
                Send::Call("update_link", vec![("id".into(), other_link_text.clone()), ("link[name]".into(), "Mine now".into())]),
                404,
                Error("error-not-found"),
            ),
            case(
                "update: id not a number",
                Owner,
                Send::Call("update_link", vec![("id".into(), "1; DROP TABLE links".into()), ("link[name]".into(), "x".into())]),
                400,
                Error("error-bad-request"),
            ),
            case(
                "status: another merchant's link",
                Owner,
                call("set_link_status", &[("id", &other_link_text), ("status", "inactive")]),
                404,
                Error("error-not-found"),
            ),
            case("status: unknown value", Owner, call("set_link_status", &[("id", &link_id_text), ("status", "deleted")]), 400, Error("error-bad-request")),
            case("link: read another merchant's", Owner, call("get_link", &[("id", &other_link_text)]), 404, Error("error-not-found")),
            case("sales: another merchant's link", Owner, call("link_sales", &[("id", &other_link_text)]), 404, Error("error-not-found")),
            // Webhook endpoints.
            case("webhook: no URL", Owner, call("create_webhook_endpoint", &[("url", ""), ("events[]", "payment.captured")]), 422, Error("error-required")),
            case(
                "webhook: not http(s)",
                Owner,
                call("create_webhook_endpoint", &[("url", "javascript:alert(1)"), ("events[]", "payment.captured")]),
                422,
                Error("error-url-invalid"),
            ),
            case(
                "webhook: 10 KB URL",
                Owner,
                call("create_webhook_endpoint", &[("url", &format!("https://x.example/{kb10}")), ("events[]", "payment.captured")]),
                422,
                Error("error-too-long"),
            ),
            case("webhook: no events", Owner, call("create_webhook_endpoint", &[("url", "https://shop.example.com/h")]), 422, Error("error-required")),
            case(
                "webhook: blank event",
                Owner,
                call("create_webhook_endpoint", &[("url", "https://shop.example.com/h"), ("events[]", " ")]),
                422,
                Error("error-required"),
            ),
            case(
                "webhook: unknown event",
                Owner,
                call("create_webhook_endpoint", &[("url", "https://shop.example.com/h"), ("events[]", "payment.captured"), ("events[]", "payment.stolen")]),
                422,
                Error("error-not-allowed"),
            ),
            case("webhook: missing field", Owner, call("create_webhook_endpoint", &[("events[]", "payment.captured")]), 400, Error("error-bad-request")),
            case("webhook: unknown endpoint", Owner, call("reveal_webhook_secret", &[("id", "we_nope")]), 404, Error("error-not-found")),
            case(
                "webhook: resend someone else's delivery",
                Owner,
                call("resend_webhook_delivery", &[("id", "we_nope"), ("delivery", "1")]),
                404,
                Error("error-not-found"),
            ),
            // Images, checked by content.
            case("image: 2 MB + 1 byte", Owner, Send::Upload("big.png", oversized), 422, Error("error-image-too-large")),
            case("image: GIF renamed .png", Owner, Send::Upload("renamed.png", gif), 422, Error("error-image-type")),
            case("image: SVG with script", Owner, Send::Upload("logo.png", svg), 422, Error("error-image-type")),
            case("image: decompression bomb", Owner, Send::Upload("bomb.png", decompression_bomb()), 422, Error("error-image-dimensions")),
            case("image: empty file", Owner, Send::Upload("empty.png", vec![]), 422, Error("error-image-empty")),
            case("image: 10 MB", Owner, Send::Upload("huge.png", vec![0; 10 * 1024 * 1024]), 413, Error("error-image-too-large")),
            // Who may do what.
            case("no session: create", Anonymous, create_link(&[]), 401, Error("error-not-signed-in")),
            case("expired session: create", Expired, create_link(&[]), 401, Error("error-not-signed-in")),
            case("expired session: transactions", Expired, call("transactions", &[]), 401, Error("error-not-signed-in")),
            case(
                "no Origin (CSRF)",
                Owner,
                Send::Raw {
                    method: "POST",
                    path: "/api/create_link".into(),
                    headers: vec![form_type.clone()],
                    body: b"link[name]=Evil&link[amount]=1000&link[currency]=JPY".to_vec(),
                },
                403,
                Error("error-forbidden"),
            ),
            case(
                "forged Origin (CSRF)",
                Owner,
                Send::Raw {
                    method: "POST",
                    path: "/api/create_link".into(),
                    headers: vec![form_type.clone(), ("Origin", "http://evil.example".into())],
                    body: b"link[name]=Evil&link[amount]=1000&link[currency]=JPY".to_vec(),
                },
                403,
                Error("error-forbidden"),
            ),
            case(
                "forged Referer (CSRF)",
                Owner,
                Send::Raw {
                    method: "POST",
                    path: "/api/set_link_status".into(),
                    headers: vec![form_type.clone(), ("Referer", "http://evil.example/x".into())],
                    body: format!("id={link_id}&status=inactive").into_bytes(),
                },
                403,
                Error("error-forbidden"),
            ),
            case("live mode without approval", Owner, call("set_mode", &[("mode", "live")]), 403, Error("error-live-not-approved")),
            case("unknown mode", Owner, call("set_mode", &[("mode", "prod")]), 400, Error("error-bad-request")),
            case(
                "reviewer function as merchant",
                Owner,
                call("review_application", &[("account_id", "1"), ("decision", "approve"), ("reason", "")]),
                403,
                Error("error-forbidden"),
            ),
            case("set locale: unsupported", Anonymous, call("set_locale", &[("locale", "de")]), 400, Error("error-bad-request")),
            case(
                "change password: wrong current",
                Owner,
                call(
                    "change_password",
                    &[("current_password", "not my password"), ("new_password", "another good passphrase"), ("confirm_password", "another good passphrase")],
                ),
                422,
                Error("error-password-wrong"),
            ),
            case(
                "KOMOJU key: not a live key",
                Owner,
                call("save_komoju_settings", &[("secret_key", "pk_live_abc"), ("webhook_secret", "whsec")]),
                422,
                Error("error-komoju-key"),
            ),
            case(
                "application: empty",
                Owner,
                Send::Call("save_application", vec![("form[legal_name]".into(), "".into()), ("intent".into(), "submit".into())]),
                422,
                Error("error-required"),
            ),
            // Payments on the dashboard.
            case(
                "refund: more than paid",
                Owner,
                call("payment_action", &[("payment", &paid_id), ("action", "refund"), ("amount", "1201"), ("reason", "")]),
                422,
                Error("error-amount-above-maximum"),
            ),
            case(
                "refund: negative",
                Owner,
                call("payment_action", &[("payment", &paid_id), ("action", "refund"), ("amount", "-5"), ("reason", "")]),
                422,
                Error("error-amount-malformed"),
            ),
            case(
                "refund: fractional yen",
                Owner,
                call("payment_action", &[("payment", &paid_id), ("action", "refund"), ("amount", "0.5"), ("reason", "")]),
                422,
                Error("error-amount-too-precise"),
            ),
            case(
                "refund: another merchant's payment",
                Owner,
                call("payment_action", &[("payment", &other_paid_id), ("action", "refund"), ("amount", "600"), ("reason", "")]),
                404,
                Error("error-not-found"),
            ),
            case(
                "payment: unknown action",
                Owner,
                call("payment_action", &[("payment", &paid_id), ("action", "delete"), ("amount", ""), ("reason", "")]),
                400,
                Error("error-bad-request"),
            ),
            case(
                "payment: mark a card payment paid",
                Owner,
                call("payment_action", &[("payment", &paid_id), ("action", "mark_paid"), ("amount", ""), ("reason", "")]),
                409,
                Error("error-conflict"),
            ),
            case(
                "refund: the owner's payment, as another merchant",
                Other,
                call("payment_action", &[("payment", &paid_id), ("action", "refund"), ("amount", "100"), ("reason", "")]),
                404,
                Error("error-not-found"),
            ),
            case("payment detail: another merchant's", Owner, call("payment_detail", &[("id", &other_paid_id)]), 404, Error("error-not-found")),
            case("transactions: unknown status filter", Owner, call("transactions", &[("query[status]", "stolen")]), 422, Error("error-not-allowed")),
            case("transactions: bad date", Owner, call("transactions", &[("query[from]", "2026-13-45")]), 422, Error("error-date-invalid")),
            case("transactions: forged cursor", Owner, call("transactions", &[("query[after]", "' OR 1=1 --")]), 422, Error("error-not-allowed")),
            // Checkout.
            case("pay: invalid slug", Anonymous, pay_with("../../etc", &fresh, &[]), 404, Error("error-not-found")),
            case("pay: unknown slug", Anonymous, pay_with("AAAAAAAAAAAAAAAAAAAAAA", &fresh, &[]), 404, Error("error-not-found")),
            case("pay: inactive link", Anonymous, pay_with(&inactive_slug, &fresh, &[]), 410, Error("error-gone")),
            case("pay: malformed token", Anonymous, pay_with(&slug, "short", &[]), 400, Error("error-bad-request")),
            case("pay: bad card number", Anonymous, pay_with(&slug, &fresh, &[("card_number", "4111111111111112")]), 422, Error("error-card-number")),
            case("pay: expired card", Anonymous, pay_with(&slug, &fresh, &[("card_expiry", "01/20")]), 422, Error("error-card-expired")),
            case("pay: expiry not MM/YY", Anonymous, pay_with(&slug, &fresh, &[("card_expiry", "13/99")]), 422, Error("error-card-expiry")),
            case("pay: CVC letters", Anonymous, pay_with(&slug, &fresh, &[("card_cvc", "12a")]), 422, Error("error-card-cvc")),
            case("pay: email invalid", Anonymous, pay_with(&slug, &fresh, &[("email", "taro@")]), 422, Error("error-email-invalid")),
            case("pay: 10 KB name", Anonymous, pay_with(&slug, &fresh, &[("name", &kb10)]), 422, Error("error-too-long")),
            case("pay: unknown method", Anonymous, pay_with(&slug, &fresh, &[("method", "bitcoin")]), 422, Error("error-not-allowed")),
            case("pay: konbini without a store", Anonymous, pay_with(&slug, &fresh, &[("method", "konbini"), ("store", "")]), 422, Error("error-required")),
            case("pay: 10 MB body", Anonymous, pay_with(&slug, &fresh, &[("name", &mb10)]), 413, Error("error-too-large")),
            case(
                "checkout page: invalid slug",
                Anonymous,
                Send::Raw { method: "GET", path: "/pay/%3Cscript%3E".into(), headers: vec![("Accept-Language", "ja".into())], body: vec![] },
                404,
                Page { lang: "ja", id: "checkout-not-found-title" },
            ),
            case(
                "result page: another link's payment",
                Anonymous,
                Send::Raw { method: "GET", path: format!("/pay/{slug}/{other_paid_id}"), headers: vec![("Accept-Language", "en".into())], body: vec![] },
                404,
                Page { lang: "en", id: "checkout-not-found-title" },
            ),
            case(
                "CSV export: no session",
                Anonymous,
                Send::Raw { method: "GET", path: "/export/transactions.csv".into(), headers: vec![("Accept-Language", "ko".into())], body: vec![] },
                401,
                Said { lang: "ko", id: "error-not-signed-in" },
            ),
            case("image: unknown", Anonymous, Send::Raw { method: "GET", path: format!("/img/{}", "f".repeat(64)), headers: vec![], body: vec![] }, 404, Text),
            // The REST API (shop backends): its own error shape, nothing stored.
            case(
                "API: no key",
                Anonymous,
                Send::Raw { method: "GET", path: "/api/v1/payment_links".into(), headers: vec![], body: vec![] },
                401,
                Api("invalid_api_key"),
            ),
            case("API: not JSON", Anonymous, api("POST", "/payment_links", "{\"name\": "), 400, Api("invalid_json")),
            case(
                "API: amount as text",
                Anonymous,
                api("POST", "/payment_links", r#"{"name": "Matcha", "amount": "1000", "currency": "JPY"}"#),
                400,
                Api("invalid_json"),
            ),
            case(
                "API: fractional yen",
                Anonymous,
                api("POST", "/payment_links", r#"{"name": "Matcha", "amount": 1000.5, "currency": "JPY"}"#),
                400,
                Api("invalid_json"),
            ),
            case("API: empty name", Anonymous, api("POST", "/payment_links", r#"{"name": " ", "amount": 1000, "currency": "JPY"}"#), 422, Api("required")),
            case(
                "API: below the minimum",
                Anonymous,
                api("POST", "/payment_links", r#"{"name": "Matcha", "amount": 10, "currency": "JPY"}"#),
                422,
                Api("amount_below_minimum"),
            ),
            case(
                "API: name taken",
                Anonymous,
                api("POST", "/payment_links", r#"{"name": "Sencha", "amount": 1000, "currency": "JPY"}"#),
                409,
                Api("name_taken"),
            ),
            case("API: amount cannot change", Anonymous, api("POST", &format!("/payment_links/{link_id}"), r#"{"amount": 5000}"#), 422, Api("immutable")),
            case("API: another merchant's link", Anonymous, api("GET", &format!("/payment_links/{other_link}"), ""), 404, Api("not_found")),
            case(
                "API: refund above the rest",
                Anonymous,
                api("POST", &format!("/payments/{paid_id}/refund"), r#"{"amount": 999999}"#),
                422,
                Api("amount_above_maximum"),
            ),
            case("API: another merchant's payment", Anonymous, api("POST", &format!("/payments/{other_paid_id}/refund"), "{}"), 404, Api("not_found")),
            case("API: unknown status filter", Anonymous, api("GET", "/payments?status=stolen", ""), 422, Api("not_allowed")),
            case("API: page size not a number", Anonymous, api("GET", "/payment_links?limit=lots", ""), 400, Api("invalid_query")),
            case("API: page size 0", Anonymous, api("GET", "/payment_links?limit=0", ""), 422, Api("limit_out_of_range")),
            // KOMOJU webhooks (machine to machine).
            case(
                "webhook: unknown merchant",
                Anonymous,
                Send::Raw {
                    method: "POST",
                    path: "/webhooks/komoju/acct_nobody".into(),
                    headers: vec![("Content-Type", "application/json".into())],
                    body: b"{}".to_vec(),
                },
                404,
                Text,
            ),
            case(
                "webhook: bad signature",
                Anonymous,
                Send::Raw {
                    method: "POST",
                    path: hook.clone(),
                    headers: vec![
                        ("Content-Type", "application/json".into()),
                        ("X-Komoju-ID", "delivery-2".into()),
                        ("X-Komoju-Signature", common::shop::komoju_signature("not-the-secret", &event)),
                    ],
                    body: event.clone(),
                },
                401,
                Text,
            ),
            case(
                "webhook: signed, malformed JSON",
                Anonymous,
                Send::Raw { method: "POST", path: hook.clone(), headers: signed(b"{\"type\": payment", "delivery-3"), body: b"{\"type\": payment".to_vec() },
                400,
                Text,
            ),
            case(
                "webhook: signed, no delivery id",
                Anonymous,
                Send::Raw {
                    method: "POST",
                    path: hook.clone(),
                    headers: signed(&event, "").into_iter().filter(|(k, _)| *k != "X-Komoju-ID").collect(),
                    body: event.clone(),
                },
                400,
                Text,
            ),
            // A replay is acknowledged (KOMOJU retries legitimately) and does nothing.
            case(
                "webhook: replayed delivery",
                Anonymous,
                Send::Raw { method: "POST", path: hook.clone(), headers: signed(&event, "delivery-1"), body: event.clone() },
                200,
                Text,
            ),
            case(
                "webhook: merchant without KOMOJU",
                Anonymous,
                Send::Raw {
                    method: "POST",
                    path: format!("/webhooks/komoju/{}", merchant_public_id(&server, "other@example.com").await),
                    headers: vec![("Content-Type", "application/json".into()), ("X-Komoju-Signature", "00".into())],
                    body: b"{}".to_vec(),
                },
                404,
                Text,
            ),
        ];

        let mut seen_statuses = BTreeMap::<u16, usize>::new();
        let mut failures = Vec::new();
        for case in &mut cases {
            let before = snapshot(&server).await;
            let browser = match case.who {
                Anonymous => &mut anonymous,
                Owner => &mut owner,
                Other => &mut other,
                Expired => &mut expired,
            };
            let res = send(&server, browser, &case.send).await;
            let what = format!("{label}: {} ({:?})", case.what, case.who);
            let body = &res.body[..res.body.len().min(300)];
            *seen_statuses.entry(res.status).or_default() += 1;
            if res.status != case.status {
                failures.push(format!("{what}: status {} instead of {}: {body}", res.status, case.status));
            }
            match case.expect {
                Error(id) => match serde_json::from_str::<AppError>(&res.body) {
                    Ok(error) if error.message_id() == id => {
                        for lang in ["ja", "en", "ko"] {
                            if translation(lang, id).is_none() {
                                failures.push(format!("{what}: no {lang} text for {id}"));
                            }
                        }
                    }
                    Ok(error) => failures.push(format!("{what}: {} instead of {id} ({error:?})", error.message_id())),
                    Err(e) => failures.push(format!("{what}: not an error body ({e}): {body}")),
                },
                Page { lang, id } => {
                    let text = translation(lang, id).unwrap_or_else(|| panic!("{what}: no {lang} text for {id}"));
                    let html = res.header("content-type").unwrap_or_default().starts_with("text/html");
                    if !html || !res.body.contains(&format!("lang=\"{lang}\"")) || !res.body.contains(&text) {
                        failures.push(format!("{what}: not a {lang} page saying {text:?}: {body}"));
                    }
                }
                Said { lang, id } => {
                    let text = translation(lang, id).unwrap_or_else(|| panic!("{what}: no {lang} text for {id}"));
                    if res.body.trim() != text {
                        failures.push(format!("{what}: not {text:?}: {body}"));
                    }
                }
                Text => {
                    if res.body.len() >= 200 || res.body.contains('<') {
                        failures.push(format!("{what}: {body}"));
                    }
                }
                Api(code) => {
                    let error = serde_json::from_str::<serde_json::Value>(&res.body).map(|v| v["error"].clone()).unwrap_or_default();
                    let message = error["message"].as_str().unwrap_or_default();
                    if error["code"] != code || message.is_empty() || error["type"].as_str().is_none() {
                        failures.push(format!("{what}: not the API error {code}: {body}"));
                    }
                }
            }
            let after = snapshot(&server).await;
            if before != after {
                let changed: Vec<&String> = after.keys().filter(|t| before.get(*t) != after.get(*t)).collect();
                failures.push(format!("{what}: changed {changed:?}"));
            }
        }
        assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
        assert!(cases.len() >= 60, "{} cases", cases.len());
        println!("{label}: {} bad inputs refused, nothing changed; statuses {seen_statuses:?}", cases.len());

        // What looks dangerous but is valid is accepted, stored verbatim and shown escaped.
        for name in ["抹茶ラテ 🍵", "녹차 세트", "<script>alert(1)</script>", "'; DROP TABLE links;--"] {
            let (id, slug) = link(&mut owner, name, "1000", &[("description", name)]).await;
            let stored = owner.call("get_link", &[("id", &id.to_string())]).await;
            assert_eq!(common::shop::json(&stored)["name"], name, "{label}");
            let page = server.get(&format!("/pay/{slug}"), &[]).await;
            assert!(!page.body.contains("<script>alert(1)</script>"), "{label}: unescaped on the checkout");
            if name.starts_with('<') {
                assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{label}");
            }
        }
    }
}

//! A merchant, their links and test-mode payments, through the real HTTP API.

use super::{Browser, Response, TestServer};
use paylinks::server::payments;
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery";

pub fn json(response: &Response) -> Value {
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.body))
}

pub async fn merchant<'a>(server: &'a TestServer, email: &str) -> Browser<'a> {
    let mut browser = server.browser();
    let res = browser.call("sign_up", &[("business_name", "Tea House"), ("email", email), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    // Confirmed as the operator would (tests/email.rs walks the emailed link).
    let id = paylinks::server::accounts::account_id_by_email(&server.state.db, &email.trim().to_lowercase()).await.unwrap().unwrap().0;
    paylinks::server::accounts::mark_email_verified(&server.state.db, id).await.unwrap();
    // A sign-up signs nobody in (it answers alike for taken addresses).
    let res = browser.call("sign_in", &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    browser
}

/// The `{path}?token=…` link (path and query) of the latest email to `to` in
/// the server's mail folder (no SMTP configured); waits up to 15 s for it.
pub async fn emailed_link(server: &TestServer, to: &str, path: &str) -> String {
    let dir = server.state.config.email.mail_dir.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let mut files: Vec<_> = std::fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        files.sort();
        for file in files.iter().rev().filter(|p| p.extension().is_some_and(|e| e == "eml")) {
            let eml = super::smtp::Received { from: String::new(), to: Vec::new(), data: std::fs::read(file).unwrap() };
            if let Some(link) = eml.header("To").filter(|t| t.contains(to)).and_then(|_| eml.link(path)) {
                return link;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no email to {to} with a /{path} link in {}", dir.display());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Creates a link and returns (id, slug).
pub async fn link(browser: &mut Browser<'_>, name: &str, amount: &str, extra: &[(&str, &str)]) -> (i64, String) {
    let mut fields = vec![("name", name), ("amount", amount), ("currency", "JPY"), ("language", "ja")];
    // `extra` may change a default (e.g. the language).
    fields.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    fields.extend_from_slice(extra);
    let form: Vec<(String, &str)> = fields.iter().map(|(k, v)| (format!("link[{k}]"), *v)).collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let res = browser.call("create_link", &form).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let link = json(&res);
    (link["id"].as_i64().unwrap(), link["slug"].as_str().unwrap().to_owned())
}

/// The one-time token rendered into the checkout page.
pub fn token_in(page: &str) -> String {
    let marker = "name=\"pay[token]\" value=\"";
    let start = page.find(marker).unwrap_or_else(|| panic!("no token in page: {page}")) + marker.len();
    page[start..start + 22].to_owned()
}

pub async fn page_token(server: &TestServer, slug: &str) -> String {
    let page = server.get(&format!("/pay/{slug}"), &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    token_in(&page.body)
}

pub fn card_form<'a>(slug: &'a str, token: &'a str, number: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("pay[slug]", slug),
        ("pay[token]", token),
        ("pay[method]", "card"),
        ("pay[lang]", "en"),
        ("pay[email]", "taro@example.jp"),
        ("pay[name]", "TARO YAMADA"),
        ("pay[card_number]", number),
        ("pay[card_expiry]", "12/39"),
        ("pay[card_cvc]", "123"),
    ]
}

/// Pays through the `pay` server function; returns the response.
pub async fn pay(server: &TestServer, form: &[(&str, &str)]) -> Response {
    server.browser().call("pay", form).await
}

pub async fn payment_of(server: &TestServer, res: &Response) -> payments::Payment {
    assert_eq!(res.status, 200, "{}", res.body);
    let url: String = serde_json::from_str(&res.body).unwrap();
    let public_id = url.rsplit('/').next().unwrap();
    payments::by_public_id(&server.state.db, public_id).await.unwrap()
}

pub async fn action(b: &mut Browser<'_>, payment: &str, action: &str, amount: &str) -> Response {
    b.call("payment_action", &[("payment", payment), ("action", action), ("amount", amount), ("reason", "")]).await
}

pub async fn count_payments(server: &TestServer) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) FROM payments").fetch_one(server.state.db.pool()).await.unwrap().get(0)
}

pub async fn assert_verified(server: &TestServer, label: &str) {
    let mismatches = payments::verify(&server.state.db).await.unwrap();
    assert!(mismatches.is_empty(), "{label}: {mismatches:?}");
}

/// The public id of the merchant with this email (their webhook URL).
pub async fn merchant_public_id(server: &TestServer, email: &str) -> String {
    use sqlx::Row;
    sqlx::query("SELECT public_id FROM accounts WHERE email = $1").bind(email.to_owned()).fetch_one(server.state.db.pool()).await.unwrap().get(0)
}

/// A plain picture of `width` × `height` pixels, encoded as PNG.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_pixel(width, height, image::Rgb([10, 120, 60])).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

/// A small JPEG picture.
pub fn jpeg() -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_pixel(16, 16, image::Rgb([200, 30, 30])).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Jpeg).unwrap();
    out
}

/// The review team's member, signed in.
pub async fn reviewer(server: &TestServer) -> Browser<'_> {
    paylinks::server::admin::run(
        &server.state.db,
        paylinks::server::admin::AdminCommand::CreateReviewer {
            email: "review@paylinks.test".into(),
            name: "Review".into(),
            password: Some(PASSWORD.into()),
            locale: paylinks::domain::Locale::En,
        },
    )
    .await
    .unwrap();
    let mut browser = server.browser();
    let res = browser.call("sign_in", &[("email", "review@paylinks.test"), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    browser
}

/// Every field of the live-mode application, filled in.
pub fn complete_application() -> Vec<(String, String)> {
    paylinks::domain::application::FIELDS
        .iter()
        .map(|(field, _, _)| {
            let value = match *field {
                "phone" | "scta_phone" => "03-1234-5678",
                "website" => "https://tea.example.jp",
                _ => "山田茶園 <b>details</b>",
            };
            (format!("form[{field}]"), value.to_owned())
        })
        .collect()
}

/// KOMOJU's webhook signature: hex HMAC-SHA256 of the body under the webhook secret.
pub fn komoju_signature(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

//! What must never be written down: card numbers, security codes, passwords
//! and KOMOJU keys. The server runs with every log level on, logging as text
//! and as JSON (`PAYLINKS_LOG_FORMAT=json`) at once; after sign-up,
//! saved keys, card payments (paid, declined, refused) and a forged webhook,
//! neither the logs nor the database (every text column, and on SQLite every
//! byte of the files, free pages and WAL included) contain any of them.

use crate::common;

use common::shop::{card_form, json, link, merchant, merchant_public_id, page_token, pay, PASSWORD};
use common::{start_server, test_databases};

const CARD: &str = "4111111111111111";
const DECLINED_CARD: &str = "4123111111111000";
const AMEX: &str = "378282246310005";
const CVC: &str = "826";
const AMEX_CVC: &str = "8264";
const SECRET_KEY: &str = "sk_live_secrecy0123456789zyx";
const WEBHOOK_SECRET: &str = "whsec-secrecy-qwerty-98765";

fn find<'a>(haystack: &[u8], secrets: &[&'a str]) -> Vec<&'a str> {
    secrets.iter().copied().filter(|s| haystack.windows(s.len()).any(|w| w == s.as_bytes())).collect()
}

#[tokio::test]
async fn cards_passwords_and_keys_are_never_logged_or_stored() {
    let logs = common::Logs::default();
    let writer = logs.clone();
    // Every level, in both formats the server can write (text, and JSON with the request's span).
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let json_writer = writer.clone();
    tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::TRACE)
        .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(move || writer.clone()))
        .with(paylinks::server::observe::log_layer(paylinks::server::observe::LogFormat::Json, move || json_writer.clone()))
        .init();
    let secrets = [CARD, DECLINED_CARD, AMEX, PASSWORD, SECRET_KEY, WEBHOOK_SECRET];

    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "secrecy@example.com").await;
        let res = shop.call("sign_in", &[("email", "secrecy@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 200);
        let res = shop.call("save_komoju_settings", &[("secret_key", SECRET_KEY), ("webhook_secret", WEBHOOK_SECRET)]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert!(!res.body.contains(SECRET_KEY) && !res.body.contains(WEBHOOK_SECRET));
        let (_, slug) = link(&mut shop, "Shincha", "2400", &[]).await;

        // Paid, declined, refused (expired card: the number is in the request but the form is invalid).
        for (number, expiry) in [(CARD, "12/39"), (DECLINED_CARD, "12/39"), (AMEX, "12/39"), (CARD, "01/20")] {
            let token = page_token(&server, &slug).await;
            let mut form = card_form(&slug, &token, number);
            form.retain(|(k, _)| *k != "pay[card_cvc]" && *k != "pay[card_expiry]");
            form.push(("pay[card_cvc]", if number == AMEX { AMEX_CVC } else { CVC }));
            form.push(("pay[card_expiry]", expiry));
            let res = pay(&server, &form).await;
            assert!(!find(res.body.as_bytes(), &secrets).iter().any(|s| *s != PASSWORD), "echoed: {}", res.body);
        }
        let transactions = json(&shop.call("transactions", &[]).await);
        let kept = transactions.to_string();
        assert!(kept.contains("1111") && kept.contains("0005"), "{}: the last four digits are kept: {kept}", db.label);
        // A forged webhook is logged as refused, without what it carried.
        let merchant = merchant_public_id(&server, "secrecy@example.com").await;
        let body = format!("{{\"type\":\"payment.captured\",\"card\":\"{CARD}\",\"secret\":\"{WEBHOOK_SECRET}\"}}");
        let res = server
            .request("POST", &format!("/webhooks/komoju/{merchant}"), &[("Content-Type", "application/json"), ("X-Komoju-Signature", "00ff")], &body)
            .await;
        assert_eq!(res.status, 401);

        // The database: every text column of every row.
        use sqlx::{Column, Row};
        let pool = server.state.db.pool();
        for table in &common::app_tables(pool).await {
            for row in sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(pool).await.unwrap() {
                for i in 0..row.columns().len() {
                    if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                        // The security code is 4 digits: looked for where card data could land
                        // (random ids and hashes elsewhere may hold any 4 digits by chance).
                        let cvc: &[&str] = if table.starts_with("payment") { &[CVC, AMEX_CVC] } else { &[] };
                        let found = find(text.as_bytes(), &[secrets.as_slice(), cvc].concat());
                        assert!(found.is_empty(), "{}: {table}.{} holds {found:?}", db.label, row.column(i).name());
                    }
                }
            }
        }
        // SQLite: the files themselves, free pages and write-ahead log included.
        if let Some(path) = db.url.strip_prefix("sqlite://") {
            for file in [path.to_owned(), format!("{path}-wal")] {
                if let Ok(bytes) = std::fs::read(&file) {
                    let found = find(&bytes, &secrets);
                    assert!(found.is_empty(), "{file} holds {found:?}");
                }
            }
        }
    }

    let logs = logs.bytes();
    assert!(logs.len() > 10_000, "the server logged at trace level ({} bytes)", logs.len());
    let found = find(&logs, &[secrets.as_slice(), &["card_cvc=", "card_number="]].concat());
    assert!(found.is_empty(), "the logs hold {found:?}");
}

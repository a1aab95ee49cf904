//! The Transactions page's queries through real HTTP, on every backend:
//! filters, keyset pagination at its boundaries, CSV export, the daily chart,
//! and that no query ever shows another merchant's payments.
use crate::common;

use common::shop::*;
use common::{start_server, test_databases, Browser, TestServer};
use paylinks::server::ids;
use serde_json::Value;

/// Calls the `transactions` server function with these filters.
async fn list(b: &mut Browser<'_>, filters: &[(&str, &str)]) -> Value {
    let form: Vec<(String, &str)> = filters.iter().map(|(k, v)| (format!("query[{k}]"), *v)).collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let res = b.call("transactions", &form).await;
    assert_eq!(res.status, 200, "{filters:?}: {}", res.body);
    json(&res)
}

fn ids(page: &Value) -> Vec<String> {
    page["rows"].as_array().unwrap().iter().map(|r| r["public_id"].as_str().unwrap().to_owned()).collect()
}

/// Pays `slug` with `number` (a fresh token each time); returns the payment id.
async fn pay_card(server: &TestServer, slug: &str, number: &str, email: &str) -> String {
    let token = ids::random_token();
    let mut form = card_form(slug, &token, number);
    form.retain(|(k, _)| *k != "pay[email]");
    form.push(("pay[email]", email));
    payment_of(server, &pay(server, &form).await).await.view.public_id
}

async fn pay_konbini(server: &TestServer, slug: &str) -> String {
    let token = ids::random_token();
    let form = [
        ("pay[slug]", slug),
        ("pay[token]", token.as_str()),
        ("pay[method]", "konbini"),
        ("pay[lang]", "ja"),
        ("pay[email]", "konbini@example.jp"),
        ("pay[store]", "lawson"),
    ];
    payment_of(server, &pay(server, &form).await).await.view.public_id
}

#[tokio::test]
async fn filters_find_exactly_their_payments() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "tx@example.com").await;
        let (tea, tea_slug) = link(&mut shop, "Sencha", "1000", &[]).await;
        let (_, cake_slug) = link(&mut shop, "Cake", "500", &[]).await;
        let ok = pay_card(&server, &tea_slug, "4111111111111111", "taro@example.jp").await;
        let partly = pay_card(&server, &tea_slug, "5555555555554444", "hanako@shop.example").await;
        let full = pay_card(&server, &tea_slug, "3530111333300000", "jiro@example.jp").await;
        let declined = pay_card(&server, &cake_slug, "4123111111111000", "Taro.Second@Example.JP").await;
        let konbini = pay_konbini(&server, &cake_slug).await;
        assert_eq!(action(&mut shop, &partly, "refund", "300").await.status, 200);
        assert_eq!(action(&mut shop, &full, "refund", "").await.status, 200);

        let all = list(&mut shop, &[]).await;
        assert_eq!(ids(&all).len(), 5, "{}", db.label);
        assert_eq!(ids(&all)[0], konbini, "newest first");
        assert_eq!(all["next"], Value::Null);
        let names: Vec<&str> = all["links"].as_array().unwrap().iter().map(|l| l[1].as_str().unwrap()).collect();
        assert_eq!(names, ["Cake", "Sencha"]);

        let by = |filters: &'static [(&'static str, &'static str)]| filters;
        for (filters, expected) in [
            (by(&[("status", "captured")]), vec![ok.clone()]),
            (by(&[("status", "partially_refunded")]), vec![partly.clone()]),
            (by(&[("status", "refunded")]), vec![full.clone()]),
            (by(&[("status", "failed")]), vec![declined.clone()]),
            (by(&[("status", "authorized")]), vec![konbini.clone()]),
            (by(&[("method", "konbini")]), vec![konbini.clone()]),
            (by(&[("q", "taro")]), vec![declined.clone(), ok.clone()]),
            (by(&[("q", "@SHOP.example")]), vec![partly.clone()]),
            (by(&[("q", "%")]), vec![]),
            (by(&[("q", "_")]), vec![]),
        ] {
            assert_eq!(ids(&list(&mut shop, filters).await), expected, "{}: {filters:?}", db.label);
        }
        let tea_id = tea.to_string();
        let mut tea_rows = ids(&list(&mut shop, &[("link", &tea_id)]).await);
        tea_rows.sort();
        let mut expected = vec![ok.clone(), partly.clone(), full.clone()];
        expected.sort();
        assert_eq!(tea_rows, expected);
        assert_eq!(ids(&list(&mut shop, &[("q", &ok)]).await), vec![ok.clone()], "exact payment id");
        assert_eq!(ids(&list(&mut shop, &[("link", &tea_id), ("method", "card"), ("status", "captured")]).await), vec![ok.clone()]);

        // Dates are Japan calendar days: today holds everything, tomorrow nothing.
        let today = paylinks::domain::link::format_local_datetime(paylinks::server::db::now_ms(), 540)[..10].to_owned();
        let tomorrow = paylinks::domain::link::format_local_datetime(paylinks::server::db::now_ms() + 86_400_000, 540)[..10].to_owned();
        let yesterday = paylinks::domain::link::format_local_datetime(paylinks::server::db::now_ms() - 86_400_000, 540)[..10].to_owned();
        assert_eq!(ids(&list(&mut shop, &[("from", &today), ("to", &today)]).await).len(), 5);
        assert_eq!(ids(&list(&mut shop, &[("from", &tomorrow)]).await).len(), 0);
        assert_eq!(ids(&list(&mut shop, &[("to", &yesterday)]).await).len(), 0);

        // Bad filters: the field is named, nothing is listed.
        let res = shop.call("transactions", &[("query[status]", "paid")]).await;
        assert_eq!(res.status, 422);
        assert_eq!(json(&res)["Invalid"]["field"], "status");
        let res = shop.call("transactions", &[("query[from]", "2026-02-30")]).await;
        assert_eq!(json(&res)["Invalid"]["field"], "from", "{}", res.body);

        // The payment detail carries the whole history.
        let detail = json(&shop.call("payment_detail", &[("id", &partly)]).await);
        let kinds: Vec<&str> = detail["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["created", "captured", "refunded"], "{}", db.label);
        assert_eq!(detail["payment"]["refunded_amount"], 300);
    }
}

#[tokio::test]
async fn keyset_pages_meet_exactly_at_their_boundaries() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "pages@example.com").await;
        let (_, slug) = link(&mut shop, "Mochi", "200", &[]).await;
        for _ in 0..100 {
            pay_card(&server, &slug, "4111111111111111", "p@example.jp").await;
        }
        // Ties on created_at must not lose or repeat rows: half the payments share one instant.
        sqlx::query("UPDATE payments SET created_at = 1800000000000 WHERE id % 2 = 0").execute(server.state.db.pool()).await.unwrap();

        let mut seen = Vec::new();
        let mut pages = Vec::new();
        let mut after = String::new();
        loop {
            let page = list(&mut shop, &[("after", &after)]).await;
            pages.push(ids(&page).len());
            seen.extend(ids(&page));
            match page["next"].as_str() {
                Some(next) => after = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(pages, [50, 50], "{}: exactly two full pages, no empty third", db.label);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 100, "{}: every payment once", db.label);

        // One more payment: a third page with just it.
        pay_card(&server, &slug, "4111111111111111", "p@example.jp").await;
        let first = list(&mut shop, &[]).await;
        let second = list(&mut shop, &[("after", first["next"].as_str().unwrap())]).await;
        let third = list(&mut shop, &[("after", second["next"].as_str().unwrap())]).await;
        assert_eq!((ids(&first).len(), ids(&second).len(), ids(&third).len()), (50, 50, 1), "{}", db.label);
        assert_eq!(third["next"], Value::Null);
        let res = shop.call("transactions", &[("query[after]", "garbage")]).await;
        assert_eq!((res.status, json(&res)["Invalid"]["field"].as_str()), (422, Some("after")));
    }
}

#[tokio::test]
async fn merchants_never_see_each_other() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut alice = merchant(&server, "alice@example.com").await;
        let mut bob = merchant(&server, "bob@example.com").await;
        let (alice_link, alice_slug) = link(&mut alice, "Alice tea", "1000", &[]).await;
        let (_, bob_slug) = link(&mut bob, "Bob tea", "2000", &[]).await;
        let alice_payment = pay_card(&server, &alice_slug, "4111111111111111", "a@example.jp").await;
        let bob_payment = pay_card(&server, &bob_slug, "4111111111111111", "b@example.jp").await;

        assert_eq!(ids(&list(&mut bob, &[]).await), vec![bob_payment.clone()], "{}", db.label);
        assert_eq!(ids(&list(&mut bob, &[("link", &alice_link.to_string())]).await), Vec::<String>::new());
        assert_eq!(ids(&list(&mut bob, &[("q", &alice_payment)]).await), Vec::<String>::new());
        assert_eq!(ids(&list(&mut bob, &[("q", "a@example.jp")]).await), Vec::<String>::new());
        let links = list(&mut bob, &[]).await["links"].clone();
        assert_eq!(links.as_array().unwrap().len(), 1);
        assert_eq!(bob.call("payment_detail", &[("id", &alice_payment)]).await.status, 404);
        assert_eq!(action(&mut bob, &alice_payment, "refund", "").await.status, 404);
        let csv = bob.get("/export/transactions.csv").await;
        assert!(csv.body.contains(&bob_payment) && !csv.body.contains(&alice_payment), "{}", db.label);
        assert_eq!(alice.call("link_sales", &[("id", &alice_link.to_string())]).await.status, 200);
        assert_eq!(bob.call("link_sales", &[("id", &alice_link.to_string())]).await.status, 404);
        // Live mode shows none of the test payments.
        sqlx::query("INSERT INTO live_applications (account_id, status, updated_at) SELECT id, 'approved', 0 FROM accounts WHERE email = 'bob@example.com'")
            .execute(server.state.db.pool())
            .await
            .unwrap();
        assert_eq!(bob.call("set_mode", &[("mode", "live")]).await.status, 200);
        assert_eq!(ids(&list(&mut bob, &[]).await), Vec::<String>::new());
        // Signed out: nothing at all.
        assert_eq!(server.browser().call("transactions", &[]).await.status, 401);
        assert_eq!(server.get("/export/transactions.csv", &[]).await.status, 401);
    }
}

#[tokio::test]
async fn csv_export_streams_the_filtered_rows_with_a_bom() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "csv@example.com").await;
        let (_, slug) = link(&mut shop, "抹茶, \"特選\"", "1500", &[]).await;
        let captured = pay_card(&server, &slug, "4111111111111111", "=cmd@example.jp").await;
        let failed = pay_card(&server, &slug, "4123111111111000", "f@example.jp").await;
        for _ in 0..600 {
            // Enough rows for more than one database page of the export.
            pay_card(&server, &slug, "4111111111111111", "bulk@example.jp").await;
        }
        let res = shop.get("/export/transactions.csv?status=failed").await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
        assert!(res.header("content-disposition").unwrap().contains("attachment; filename=\"paylinks-test-transactions-"));
        assert!(res.bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM");
        let lines: Vec<&str> = res.body.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines[0], "payment_id,created_at_local,time_zone,product,customer_email,method,status,currency,amount_minor,refunded_minor,amount,refunded");
        assert_eq!(lines.len(), 2, "{}: header + the one failed payment", db.label);
        assert!(lines[1].starts_with(&format!("{failed},")), "{}", lines[1]);
        assert!(lines[1].contains(",\"抹茶, \"\"特選\"\"\","), "quoted product: {}", lines[1]);
        assert!(lines[1].contains(",failed,JPY,1500,0,"), "{}", lines[1]);

        let all = shop.get("/export/transactions.csv").await;
        let lines: Vec<&str> = all.body.lines().collect();
        assert_eq!(lines.len(), 1 + 602, "{}", db.label);
        let row = lines.iter().find(|l| l.starts_with(&captured)).unwrap();
        assert!(row.contains(",'=cmd@example.jp,"), "no formula injection: {row}");
        assert!(row.contains(",Visa 1111,captured,JPY,1500,0,"), "{row}");
    }
}

#[tokio::test]
async fn the_chart_counts_todays_net_captures() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "chart@example.com").await;
        let (id, slug) = link(&mut shop, "Daifuku", "800", &[]).await;
        let a = pay_card(&server, &slug, "4111111111111111", "a@example.jp").await;
        pay_card(&server, &slug, "4111111111111111", "b@example.jp").await;
        pay_card(&server, &slug, "4123111111111000", "c@example.jp").await;
        action(&mut shop, &a, "refund", "300").await;
        let sales = json(&shop.call("link_sales", &[("id", &id.to_string())]).await);
        let daily: Vec<i64> = sales["daily"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert_eq!(daily.len(), 30);
        assert_eq!(*daily.last().unwrap(), 1300, "{}: 800 + 800 − 300", db.label);
        assert_eq!(daily.iter().sum::<i64>(), 1300);
        assert_eq!(sales["stats"]["captured_amount"], 1300);
    }
}

#[tokio::test]
async fn the_merchants_time_zone_drives_filters_and_the_export() {
    for db in test_databases().await {
        let label = db.label;
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "zone@example.com").await;
        let (_, slug) = link(&mut shop, "Hojicha", "700", &[]).await;
        let paid = pay_card(&server, &slug, "4111111111111111", "zone@example.jp").await;
        // 2026-12-01 23:30 UTC: the 2nd in Tokyo (08:30), the 1st in New York (18:30).
        let at = paylinks::domain::link::parse_local_datetime("2026-12-01T23:30", 0).unwrap();
        sqlx::query("UPDATE payments SET created_at = $1").bind(at).execute(server.state.db.pool()).await.unwrap();
        let on = |day: &'static str| [("from", day), ("to", day)];
        assert_eq!(ids(&list(&mut shop, &on("2026-12-02")).await), vec![paid.clone()], "{label}: Tokyo by default");
        assert!(ids(&list(&mut shop, &on("2026-12-01")).await).is_empty(), "{label}");

        let res = shop.call("set_time_zone", &[("time_zone", "Mars/Olympus")]).await;
        assert_eq!(res.status, 422, "{label}: {}", res.body);
        assert_eq!(json(&res)["Invalid"]["field"], "time_zone");
        let res = shop.call("set_time_zone", &[("time_zone", "America/New_York")]).await;
        assert_eq!((res.status, json(&res)["time_zone"].as_str()), (200, Some("NewYork")), "{label}: {}", res.body);
        assert_eq!(json(&shop.call("current_account", &[]).await)["time_zone"], "NewYork", "{label}: saved");

        assert_eq!(ids(&list(&mut shop, &on("2026-12-01")).await), vec![paid.clone()], "{label}: New York's day");
        assert!(ids(&list(&mut shop, &on("2026-12-02")).await).is_empty(), "{label}");
        let csv = shop.get("/export/transactions.csv").await;
        let row = csv.body.lines().find(|l| l.starts_with(&paid)).unwrap().to_owned();
        assert!(row.starts_with(&format!("{paid},2026-12-01 18:30:00,America/New_York,")), "{label}: {row}");
    }
}

//! The authorization matrix: every `#[server]` function and every route, called
//! by an anonymous visitor, another merchant, a reviewer and the owner, with
//! the status each must get. No answer to anyone but the owner may carry the
//! owner's data (product name, customer email, payment id).

use crate::common;

use common::shop::{card_form, complete_application, link, merchant, merchant_public_id, page_token, pay, payment_of, png, reviewer, PASSWORD};
use common::{start_server, test_databases, Browser, Response};

/// Columns of the matrix.
const WHO: [&str; 4] = ["anonymous", "other merchant", "reviewer", "owner"];

enum Call {
    Fn(&'static str, Vec<(String, String)>),
    Upload,
    Get(String),
}

struct Row {
    what: &'static str,
    call: Call,
    /// Expected status per column of `WHO`.
    expect: [u16; 4],
    /// The owner's data may appear in the answer (public pages, the owner's column).
    public: bool,
}

fn f(endpoint: &'static str, fields: &[(&str, &str)]) -> Call {
    Call::Fn(endpoint, fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn row(what: &'static str, call: Call, expect: [u16; 4]) -> Row {
    Row { what, call, expect, public: false }
}

fn public(what: &'static str, call: Call, expect: [u16; 4]) -> Row {
    Row { what, call, expect, public: true }
}

fn application(intent: &str) -> Call {
    let mut fields = complete_application();
    fields.push(("intent".into(), intent.into()));
    Call::Fn("save_application", fields)
}

async fn send(browser: &mut Browser<'_>, call: &Call, column: usize) -> Response {
    match call {
        Call::Fn(endpoint, fields) => {
            // Names must stay unique per merchant: each column creates its own.
            let fields: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.clone(), v.replace("{who}", &column.to_string()))).collect();
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            browser.call(endpoint, &fields).await
        }
        Call::Upload => browser.upload("upload_image", "image", "tea.png", "image/png", &png(4, 4)).await,
        Call::Get(path) => browser.get(path).await,
    }
}

#[tokio::test]
async fn every_function_and_route_answers_each_role_as_it_should() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let label = db.label;
        const SECRET_NAME: &str = "Owner Secret Gyokuro";
        const SECRET_EMAIL: &str = "gyokuro.fan@example.jp";

        let mut owner = merchant(&server, "owner@example.com").await;
        let (link_id, slug) = link(&mut owner, SECRET_NAME, "3000", &[]).await;
        let token = page_token(&server, &slug).await;
        let mut form = card_form(&slug, &token, "4111111111111111");
        form.retain(|(k, _)| *k != "pay[email]");
        form.push(("pay[email]", SECRET_EMAIL));
        let paid = payment_of(&server, &pay(&server, &form).await).await;
        let payment = paid.view.public_id.clone();
        let owner_account: i64 = paid.account_id;
        assert_eq!(owner.call("save_application", &[]).await.status, 400, "sanity: arguments are required");
        let submitted = {
            let Call::Fn(_, fields) = application("submit") else { unreachable!() };
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            owner.call("save_application", &fields).await
        };
        assert_eq!(submitted.status, 200, "{}", submitted.body);
        let image = {
            let res = owner.upload("upload_image", "image", "owner.png", "image/png", &png(5, 5)).await;
            common::shop::json(&res)["sha"].as_str().unwrap().to_owned()
        };
        let owner_key = {
            let res = owner.call("create_api_key", &[("name", "Owner's backend")]).await;
            common::shop::json(&res)["key"]["id"].as_i64().unwrap().to_string()
        };
        let mut other = merchant(&server, "other@example.com").await;
        link(&mut other, "Other's Bancha", "500", &[]).await;
        let mut reviewer = reviewer(&server).await;
        let mut anonymous = server.browser();
        let merchant_id = merchant_public_id(&server, "owner@example.com").await;

        let id = link_id.to_string();
        let account = owner_account.to_string();
        // Columns: anonymous, other merchant, reviewer, owner.
        let rows = vec![
            // Open to everyone (the outcome does not depend on who asks).
            public("set_locale", f("set_locale", &[("locale", "en")]), [200, 200, 200, 200]),
            row("current_account", f("current_account", &[]), [200, 200, 200, 200]),
            row("sign_in (wrong password)", f("sign_in", &[("email", "owner@example.com"), ("password", "not the password")]), [401, 401, 401, 401]),
            // Answered as for a new address (the owner is told by email).
            row("sign_up (email taken)", f("sign_up", &[("business_name", "X"), ("email", "owner@example.com"), ("password", PASSWORD)]), [200, 200, 200, 200]),
            public(
                "pay (customer)",
                f(
                    "pay",
                    &[
                        ("pay[slug]", &slug),
                        ("pay[token]", "AAAAAAAAAAAAAAAAAAAA{who}A"),
                        ("pay[method]", "konbini"),
                        ("pay[lang]", "en"),
                        ("pay[email]", "c@example.jp"),
                        ("pay[name]", "C"),
                        ("pay[store]", "seven_eleven"),
                    ],
                ),
                [200, 200, 200, 200],
            ),
            row(
                "paypay_decision (unknown payment)",
                f("paypay_decision", &[("slug", &slug), ("payment", "pay_nothing"), ("approve", "true")]),
                [404, 404, 404, 404],
            ),
            row("scta_disclosure (not approved)", f("scta_disclosure", &[("public_id", &merchant_id)]), [404, 404, 404, 404]),
            // The owner's own things, by id: nobody else's business.
            row("get_link", f("get_link", &[("id", &id)]), [401, 404, 403, 200]),
            row("link_overview", f("link_overview", &[("id", &id)]), [401, 404, 403, 200]),
            row("link_sales", f("link_sales", &[("id", &id)]), [401, 404, 403, 200]),
            row(
                "update_link",
                f("update_link", &[("id", &id), ("link[name]", SECRET_NAME), ("link[amount]", "3000"), ("link[currency]", "JPY")]),
                [401, 404, 403, 200],
            ),
            row("set_link_status", f("set_link_status", &[("id", &id), ("status", "active")]), [401, 404, 403, 200]),
            row("payment_detail", f("payment_detail", &[("id", &payment)]), [401, 404, 403, 200]),
            row(
                "payment_action (refund ¥100)",
                f("payment_action", &[("payment", &payment), ("action", "refund"), ("amount", "100"), ("reason", "")]),
                [401, 404, 403, 200],
            ),
            // A merchant's own workspace: each merchant sees only their own.
            row("list_links", f("list_links", &[("q", ""), ("after", "")]), [401, 200, 403, 200]),
            row("transactions", f("transactions", &[]), [401, 200, 403, 200]),
            row(
                "create_link",
                f("create_link", &[("link[name]", "Matcha {who}"), ("link[amount]", "900"), ("link[currency]", "JPY"), ("link[language]", "en")]),
                [401, 200, 403, 200],
            ),
            row(
                "create_link with the owner's image",
                f("create_link", &[("link[name]", "Kabusecha {who}"), ("link[amount]", "900"), ("link[currency]", "JPY"), ("link[image]", &image)]),
                [401, 422, 403, 200],
            ),
            row("upload_image", Call::Upload, [401, 200, 403, 200]),
            row("set_mode", f("set_mode", &[("mode", "test")]), [401, 200, 403, 200]),
            row("my_application", f("my_application", &[]), [401, 200, 403, 200]),
            row("save_application (draft)", application("draft"), [401, 200, 403, 409]),
            row("komoju_settings", f("komoju_settings", &[]), [401, 200, 403, 200]),
            row(
                "save_komoju_settings (ready before approval)",
                f("save_komoju_settings", &[("secret_key", "sk_live_0123456789abcdef"), ("webhook_secret", "whsec-0123")]),
                [401, 200, 403, 200],
            ),
            row(
                "change_password (wrong current)",
                f(
                    "change_password",
                    &[("current_password", "not it at all"), ("new_password", "another fine passphrase"), ("confirm_password", "another fine passphrase")],
                ),
                [401, 422, 422, 422],
            ),
            row("api_keys", f("api_keys", &[]), [401, 200, 403, 200]),
            row("create_api_key", f("create_api_key", &[("name", "Backend {who}")]), [401, 200, 403, 200]),
            row("revoke_api_key (the owner's key)", f("revoke_api_key", &[("id", &owner_key)]), [401, 404, 403, 200]),
            // The review team's desk.
            row("review_queue", f("review_queue", &[]), [401, 403, 200, 403]),
            row(
                "review_application",
                f("review_application", &[("account_id", &account), ("decision", "reject"), ("reason", "Please add your shop's address.")]),
                [401, 403, 200, 403],
            ),
            // Routes.
            public("GET / (landing)", Call::Get("/".into()), [200, 200, 200, 200]),
            public("GET /pay/{slug} (checkout)", Call::Get(format!("/pay/{slug}")), [200, 200, 200, 200]),
            public("GET /pay/{slug}/{payment} (receipt, a capability URL)", Call::Get(format!("/pay/{slug}/{payment}")), [200, 200, 200, 200]),
            public("GET /img/{sha}", Call::Get(format!("/img/{image}")), [200, 200, 200, 200]),
            row("GET /healthz", Call::Get("/healthz".into()), [200, 200, 200, 200]),
            // Visitors are sent to sign in, reviewers to their desk, merchants away from it.
            row("GET /dashboard", Call::Get("/dashboard".into()), [302, 200, 302, 200]),
            row("GET /dashboard/links/{id}", Call::Get(format!("/dashboard/links/{id}")), [302, 404, 302, 200]),
            row("GET /dashboard/transactions/{payment}", Call::Get(format!("/dashboard/transactions/{payment}")), [302, 404, 302, 200]),
            row("GET /dashboard/transactions", Call::Get("/dashboard/transactions".into()), [302, 200, 302, 200]),
            row("GET /export/transactions.csv", Call::Get("/export/transactions.csv".into()), [401, 200, 403, 200]),
            row("GET /review", Call::Get("/review".into()), [302, 302, 200, 302]),
            row("GET /api/v1/payment_links (a session is not an API key)", Call::Get("/api/v1/payment_links".into()), [401, 401, 401, 401]),
            row("GET /legal/{merchant} (not approved)", Call::Get(format!("/legal/{merchant_id}")), [404, 404, 404, 404]),
        ];

        let mut failures = Vec::new();
        for row in &rows {
            for (column, browser) in [&mut anonymous, &mut other, &mut reviewer, &mut owner].into_iter().enumerate() {
                let res = send(browser, &row.call, column).await;
                let cell = format!("{label}: {} × {}", row.what, WHO[column]);
                let body = &res.body[..res.body.len().min(200)];
                if res.status != row.expect[column] {
                    failures.push(format!("{cell}: {} instead of {}: {body}", res.status, row.expect[column]));
                }
                let owners_data = [SECRET_NAME, SECRET_EMAIL, payment.as_str()];
                if column != 3 && !row.public {
                    if let Some(leak) = owners_data.iter().find(|secret| res.body.contains(**secret)) {
                        failures.push(format!("{cell}: the answer carries the owner's {leak:?}"));
                    }
                }
            }
        }
        // Signing out is open to all and ends only the caller's session.
        for browser in [&mut anonymous, &mut other, &mut reviewer] {
            assert_eq!(browser.call("sign_out", &[]).await.status, 200, "{label}");
        }
        assert_eq!(owner.call("get_link", &[("id", &id)]).await.status, 200, "{label}: the owner is still signed in");
        assert!(failures.is_empty(), "{} of {} cells wrong:\n{}", failures.len(), rows.len() * 4, failures.join("\n"));
        assert!(rows.len() * 4 >= 150);
    }
}

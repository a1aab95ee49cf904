//! Accounts through real HTTP on every backend: sign-up, sign-in, sessions,
//! rate limits, cross-origin refusal, Test/Live mode and the application review.
use crate::common;

use common::shop::{complete_application, emailed_link, reviewer};
use common::{start_server, test_databases, Browser, Response, TestServer};
use paylinks::server::admin::{run as admin, AdminCommand};
use serde_json::Value;
use sqlx::Row;

const PASSWORD: &str = "correct horse battery";

fn json(response: &Response) -> Value {
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.body))
}

async fn count(server: &TestServer, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(server.state.db.pool()).await.unwrap().get(0)
}

/// A new merchant whose address is not confirmed yet.
async fn sign_up_unconfirmed<'a>(server: &'a TestServer, email: &str) -> Browser<'a> {
    let mut browser = server.browser();
    let res = browser.call("sign_up", &[("business_name", "Yamada Tea"), ("email", email), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = browser.call("sign_in", &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    browser
}

/// A new merchant, address confirmed as the operator would.
async fn sign_up<'a>(server: &'a TestServer, email: &str) -> Browser<'a> {
    let browser = sign_up_unconfirmed(server, email).await;
    let id = paylinks::server::accounts::account_id_by_email(&server.state.db, email).await.unwrap().unwrap().0;
    paylinks::server::accounts::mark_email_verified(&server.state.db, id).await.unwrap();
    browser
}

async fn submit_application(browser: &mut Browser<'_>, intent: &str) -> Response {
    let fields = complete_application();
    let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    form.push(("intent", intent));
    browser.call("save_application", &form).await
}

#[tokio::test]
async fn sign_up_sign_out_sign_in() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut browser = server.browser();
        let res = browser.call("sign_up", &[("business_name", " Yamada Tea "), ("email", " Owner@Example.COM "), ("password", PASSWORD)]).await;
        assert_eq!((res.status, json(&res)), (200, Value::from("owner@example.com")), "{}: {}", db.label, res.body);
        // Signing up signs nobody in: its answer must not depend on whether
        // the address had an account (tests/email.rs).
        assert!(browser.session().is_none(), "{}", db.label);
        let res = browser.call("sign_in", &[("email", " Owner@Example.COM "), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        let cookie = res.header("set-cookie").unwrap();
        assert!(cookie.contains("pl_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http must not get Secure cookies");
        let account = json(&res);
        assert_eq!(account["email"], "owner@example.com");
        assert_eq!(account["business_name"], "Yamada Tea");
        assert_eq!(account["mode"], "test");

        let me = browser.call("current_account", &[]).await;
        assert_eq!(json(&me)["email"], "owner@example.com", "{}", db.label);

        let old_token = browser.session().unwrap().clone();
        let res = browser.call("sign_out", &[]).await;
        assert_eq!(res.status, 200);
        assert!(browser.session().is_none());
        assert_eq!(json(&browser.call("current_account", &[]).await), Value::Null);
        // The old token is dead on the server too, not just forgotten by the browser.
        let mut thief = server.browser();
        thief.cookies.insert("pl_session".into(), old_token);
        assert_eq!(json(&thief.call("current_account", &[]).await), Value::Null);

        let res = browser.call("sign_in", &[("email", "OWNER@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(json(&browser.call("current_account", &[]).await)["business_name"], "Yamada Tea");
    }
}

#[tokio::test]
async fn bad_sign_ups_are_refused_and_create_nothing() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        sign_up(&server, "taken@example.com").await;
        let before = count(&server, "accounts").await;
        let long_name = "x".repeat(101);
        let cases: &[(&str, &str, &str, u16, &str, &str)] = &[
            ("", "a@example.com", PASSWORD, 422, "business_name", "Required"),
            ("   ", "a@example.com", PASSWORD, 422, "business_name", "Required"),
            (&long_name, "a@example.com", PASSWORD, 422, "business_name", "TooLong"),
            ("Shop\u{7}", "a@example.com", PASSWORD, 422, "business_name", "ControlCharacters"),
            ("Shop", "not-an-email", PASSWORD, 422, "email", "InvalidEmail"),
            ("Shop", "", PASSWORD, 422, "email", "Required"),
            ("Shop", "a@example.com", "short", 422, "password", "TooShort"),
            ("Shop", "a@example.com", "password123", 422, "password", "CommonPassword"),
        ];
        for (name, email, password, status, field, kind) in cases {
            let mut browser = server.browser();
            let res = browser.call("sign_up", &[("business_name", name), ("email", email), ("password", password)]).await;
            assert_eq!(res.status, *status, "{}: {name:?} {email:?}: {}", db.label, res.body);
            assert!(res.body.contains(kind), "{}", res.body);
            if !field.is_empty() {
                assert_eq!(json(&res)["Invalid"]["field"], *field);
            }
            assert!(browser.session().is_none(), "a refused sign-up must not sign in");
        }
        let res = server.browser().call("sign_up", &[("email", "a@example.com")]).await;
        assert_eq!(res.status, 400, "missing arguments: {}", res.body);
        assert_eq!(count(&server, "accounts").await, before, "{}", db.label);
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    sign_up(&server, "owner@example.com").await;
    let mut browser = server.browser();
    let wrong = browser.call("sign_in", &[("email", "owner@example.com"), ("password", "wrong password!")]).await;
    let unknown = browser.call("sign_in", &[("email", "nobody@example.com"), ("password", "wrong password!")]).await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(json(&wrong), Value::String("InvalidCredentials".into()));
    assert!(browser.session().is_none());
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_account_and_per_address() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        sign_up(&server, "owner@example.com").await;
        let mut browser = server.browser();
        for _ in 0..5 {
            let res = browser.call("sign_in", &[("email", "owner@example.com"), ("password", "wrong password!")]).await;
            assert_eq!(res.status, 401);
        }
        // Even the right password is refused now, without saying whether it was right.
        let res = browser.call("sign_in", &[("email", "owner@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 429, "{}: {}", db.label, res.body);
        assert!(res.header("retry-after").unwrap().parse::<u32>().unwrap() > 0);
        assert!(browser.session().is_none());
        // Per address: many emails from one client.
        for i in 0..15 {
            browser.call("sign_in", &[("email", &format!("guess{i}@example.com")), ("password", "wrong password!")]).await;
        }
        let res = browser.call("sign_in", &[("email", "fresh@example.com"), ("password", "wrong password!")]).await;
        assert_eq!(res.status, 429, "{}: per-address limit", db.label);
    }
}

#[tokio::test]
async fn each_sign_in_rotates_the_session() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let mut browser = sign_up(&server, "owner@example.com").await;
    let first = browser.session().unwrap().clone();
    browser.call("sign_in", &[("email", "owner@example.com"), ("password", PASSWORD)]).await;
    let second = browser.session().unwrap().clone();
    assert_ne!(first, second);
    let mut old = server.browser();
    old.cookies.insert("pl_session".into(), first);
    assert_eq!(json(&old.call("current_account", &[]).await), Value::Null, "the pre-sign-in session must be gone");
}

#[tokio::test]
async fn expired_sessions_are_not_accepted() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let mut browser = sign_up(&server, "owner@example.com").await;
    sqlx::query("UPDATE sessions SET expires_at = 0").execute(server.state.db.pool()).await.unwrap();
    assert_eq!(json(&browser.call("current_account", &[]).await), Value::Null);
    let res = browser.call("set_mode", &[("mode", "test")]).await;
    assert_eq!(res.status, 401);
    assert_eq!(json(&res), Value::String("NotSignedIn".into()));
}

#[tokio::test]
async fn cross_origin_posts_are_refused() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let browser = sign_up(&server, "owner@example.com").await;
    let cookie = format!("pl_session={}", browser.session().unwrap());
    let body = "business_name=Evil&email=evil%40example.com&password=correct+horse+battery";
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    for headers in
        [vec![form, ("Origin", "http://evil.example")], vec![form, ("Referer", "http://evil.example/page")], vec![form], vec![form, ("Origin", "null")]]
    {
        let res = server.request("POST", "/api/sign_up", &headers, body).await;
        assert_eq!(res.status, 403, "{headers:?}");
        let mut with_cookie = headers.clone();
        with_cookie.push(("Cookie", &cookie));
        let res = server.request("POST", "/api/sign_out", &with_cookie, "").await;
        assert_eq!(res.status, 403, "{headers:?}");
    }
    assert_eq!(count(&server, "accounts").await, 1);
    assert_eq!(count(&server, "sessions").await, 1, "the cross-origin sign-out must not end the session");
    // Same origin by Referer alone is fine (older browsers omit Origin).
    let referer = format!("{}/signin", server.origin());
    let res = server.request("POST", "/api/set_locale", &[form, ("Referer", &referer)], "locale=ja").await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn live_mode_needs_an_approved_application() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut merchant = sign_up_unconfirmed(&server, "owner@example.com").await;
        let res = merchant.call("set_mode", &[("mode", "live")]).await;
        assert_eq!(res.status, 403, "{}", db.label);
        assert_eq!(json(&res), Value::String("LiveNotApproved".into()));

        // Not before the address is confirmed (by the emailed link).
        let res = submit_application(&mut merchant, "submit").await;
        assert_eq!((res.status, json(&res)), (403, Value::String("EmailNotVerified".into())), "{}", db.label);
        let link = emailed_link(&server, "owner@example.com", "verify-email").await;
        let token = link.split("token=").nth(1).unwrap();
        assert_eq!(merchant.call("confirm_email", &[("token", token)]).await.status, 200);

        // An incomplete application cannot be submitted, but saves as a draft.
        let res = merchant.call("save_application", &[("form[legal_name]", "Yamada Tea KK"), ("intent", "submit")]).await;
        assert_eq!(res.status, 422, "{}", res.body);
        let res = merchant.call("save_application", &[("form[legal_name]", "Yamada Tea KK"), ("intent", "draft")]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(json(&res)["status"], "draft");

        let res = submit_application(&mut merchant, "submit").await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(json(&res)["status"], "submitted");
        // Under review: no more edits.
        assert_eq!(submit_application(&mut merchant, "draft").await.status, 409);
        assert_eq!(merchant.call("set_mode", &[("mode", "live")]).await.status, 403);

        let mut reviewer = reviewer(&server).await;
        let queue = json(&reviewer.call("review_queue", &[]).await);
        assert_eq!(queue.as_array().unwrap().len(), 1);
        let account_id = queue[0]["account_id"].as_i64().unwrap().to_string();
        assert_eq!(queue[0]["application"]["form"]["legal_name"], "山田茶園 <b>details</b>");

        // Rejecting needs a reason; the merchant sees it and may resubmit.
        let res = reviewer.call("review_application", &[("account_id", &account_id), ("decision", "reject"), ("reason", "")]).await;
        assert_eq!(res.status, 422);
        let res = reviewer.call("review_application", &[("account_id", &account_id), ("decision", "reject"), ("reason", "Address is incomplete")]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let mine = json(&merchant.call("my_application", &[]).await);
        assert_eq!((mine["status"].as_str(), mine["reviewer_reason"].as_str()), (Some("rejected"), Some("Address is incomplete")));
        assert_eq!(merchant.call("set_mode", &[("mode", "live")]).await.status, 403);
        assert_eq!(submit_application(&mut merchant, "submit").await.status, 200);

        let res = reviewer.call("review_application", &[("account_id", &account_id), ("decision", "approve"), ("reason", "")]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        // Deciding twice finds nothing awaiting review.
        let res = reviewer.call("review_application", &[("account_id", &account_id), ("decision", "approve"), ("reason", "")]).await;
        assert_eq!(res.status, 404);

        let res = merchant.call("set_mode", &[("mode", "live")]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(json(&merchant.call("current_account", &[]).await)["mode"], "live");
        assert_eq!(json(&merchant.call("set_mode", &[("mode", "test")]).await)["mode"], "test");
        assert_eq!(merchant.call("set_mode", &[("mode", "sandbox")]).await.status, 400);
    }
}

#[tokio::test]
async fn reviewer_functions_are_for_reviewers_only() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let mut merchant = sign_up(&server, "owner@example.com").await;
    assert_eq!(submit_application(&mut merchant, "submit").await.status, 200);
    let mut other = sign_up(&server, "other@example.com").await;
    let mut anonymous = server.browser();
    for browser in [&mut other, &mut merchant] {
        assert_eq!(browser.call("review_queue", &[]).await.status, 403);
        let res = browser.call("review_application", &[("account_id", "1"), ("decision", "approve"), ("reason", "")]).await;
        assert_eq!(res.status, 403);
    }
    assert_eq!(anonymous.call("review_queue", &[]).await.status, 401);
    assert_eq!(anonymous.call("my_application", &[]).await.status, 401);
    // A merchant only ever sees their own application.
    assert_eq!(json(&other.call("my_application", &[]).await)["status"], "none");
    // Reviewers have no merchant dashboard functions.
    let mut reviewer = reviewer(&server).await;
    assert_eq!(reviewer.call("set_mode", &[("mode", "live")]).await.status, 403);
    assert_eq!(submit_application(&mut reviewer, "draft").await.status, 403);
    // Unknown ids are simply not found.
    let res = reviewer.call("review_application", &[("account_id", "999999"), ("decision", "approve"), ("reason", "")]).await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn change_password_checks_the_old_one_and_ends_other_sessions() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut browser = sign_up(&server, "owner@example.com").await;
        let mut laptop = server.browser();
        laptop.call("sign_in", &[("email", "owner@example.com"), ("password", PASSWORD)]).await;
        let new = "new password for tea";
        let wrong = browser.call("change_password", &[("current_password", "nope nope nope"), ("new_password", new), ("confirm_password", new)]).await;
        assert_eq!((wrong.status, json(&wrong)["Invalid"]["field"].as_str()), (422, Some("current_password")));
        let mismatch = browser.call("change_password", &[("current_password", PASSWORD), ("new_password", new), ("confirm_password", "other")]).await;
        assert_eq!(json(&mismatch)["Invalid"]["field"], "confirm_password");
        let weak = browser.call("change_password", &[("current_password", PASSWORD), ("new_password", "1234567890"), ("confirm_password", "1234567890")]).await;
        assert_eq!(json(&weak)["Invalid"]["error"], "CommonPassword");
        let ok = browser.call("change_password", &[("current_password", PASSWORD), ("new_password", new), ("confirm_password", new)]).await;
        assert_eq!(ok.status, 200, "{}: {}", db.label, ok.body);
        assert_eq!(json(&browser.call("current_account", &[]).await)["email"], "owner@example.com");
        assert_eq!(json(&laptop.call("current_account", &[]).await), Value::Null, "other device still signed in");
        let mut fresh = server.browser();
        assert_eq!(fresh.call("sign_in", &[("email", "owner@example.com"), ("password", PASSWORD)]).await.status, 401);
        assert_eq!(fresh.call("sign_in", &[("email", "owner@example.com"), ("password", new)]).await.status, 200);
    }
}

#[tokio::test]
async fn dashboard_language_is_an_account_setting() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let mut browser = server.browser();
    // Signing up from a Korean browser starts the dashboard in Korean.
    let origin = server.origin();
    let res = server
        .request(
            "POST",
            "/api/sign_up",
            &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", &origin), ("Accept-Language", "ko-KR,ko")],
            "business_name=Shop&email=ko%40example.com&password=correct+horse+battery",
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    // Signing in (from a browser that says nothing of languages) gets the account's language.
    let res = browser.call("sign_in", &[("email", "ko@example.com"), ("password", PASSWORD)]).await;
    assert_eq!((res.status, json(&res)["locale"].as_str()), (200, Some("ko")));
    assert_eq!(browser.cookies.get("lang").map(String::as_str), Some("ko"));
    browser.call("set_locale", &[("locale", "ja")]).await;
    assert_eq!(json(&browser.call("current_account", &[]).await)["locale"], "ja");
    let page = browser.get("/dashboard/settings").await;
    assert!(page.body.contains("<html lang=\"ja\""));
}

#[tokio::test]
async fn dashboard_pages_redirect_visitors_without_a_session() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    for path in ["/dashboard", "/dashboard/application", "/dashboard/settings", "/dashboard/settings/api-keys", "/dashboard/settings/webhooks", "/review"] {
        let res = server.get(path, &[("Accept", "text/html")]).await;
        assert_eq!((res.status, res.header("location")), (302, Some("/signin")), "{path}");
    }
    let mut merchant = sign_up(&server, "owner@example.com").await;
    let page = merchant.get("/dashboard").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Yamada Tea"));
    assert!(page.body.contains("data-mode=\"test\""), "the mode is always visible");
    let res = merchant.get("/review").await;
    assert_eq!((res.status, res.header("location")), (302, Some("/dashboard")));
}

#[tokio::test]
async fn admin_cli_approves_and_rejects() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let mut merchant = sign_up(&server, "owner@example.com").await;
    let state = &server.state.db;
    let approve = || AdminCommand::Approve { email: "owner@example.com".into() };
    assert!(admin(state, approve()).await.is_err(), "nothing submitted yet");
    submit_application(&mut merchant, "submit").await;
    admin(state, AdminCommand::Reject { email: "owner@example.com".into(), reason: "Need a phone".into() }).await.unwrap();
    assert_eq!(json(&merchant.call("my_application", &[]).await)["reviewer_reason"], "Need a phone");
    submit_application(&mut merchant, "submit").await;
    admin(state, approve()).await.unwrap();
    assert_eq!(merchant.call("set_mode", &[("mode", "live")]).await.status, 200);
    assert!(admin(state, AdminCommand::Approve { email: "nobody@example.com".into() }).await.is_err());
}

#[tokio::test]
async fn the_approved_disclosure_becomes_a_public_page() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut merchant = sign_up(&server, "owner@example.com").await;
        let public_id = json(&merchant.call("current_account", &[]).await)["public_id"].as_str().unwrap().to_owned();
        assert!(public_id.len() >= 22, "public handles must be unguessable");
        let page = |path: String| {
            let server = &server;
            async move { server.get(&path, &[("Accept", "text/html"), ("Accept-Language", "ja")]).await }
        };
        assert_eq!(page(format!("/legal/{public_id}")).await.status, 404, "{}: not approved yet", db.label);
        submit_application(&mut merchant, "submit").await;
        admin(&server.state.db, AdminCommand::Approve { email: "owner@example.com".into() }).await.unwrap();
        let res = page(format!("/legal/{public_id}")).await;
        assert_eq!(res.status, 200, "{}", db.label);
        assert!(res.body.contains("特定商取引法に基づく表記"));
        assert!(res.body.contains("03-1234-5678"));
        // Stored verbatim, rendered escaped.
        assert!(res.body.contains("山田茶園 &lt;b&gt;details&lt;/b&gt;"), "{}", db.label);
        assert!(!res.body.contains("<b>details</b>"));
        assert_eq!(page("/legal/no-such-merchant".into()).await.status, 404);
    }
}

#[tokio::test]
async fn demo_seed_is_repeatable_and_ready_for_live_mode() {
    use paylinks::server::demo;
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let first = demo::seed(&server.state.db).await.unwrap();
    let password = demo::seed(&server.state.db).await.unwrap();
    assert_ne!(first, password, "a new random password each run");
    assert_eq!(count(&server, "accounts").await, 2);
    let mut browser = server.browser();
    let res = browser.call("sign_in", &[("email", demo::MERCHANT_EMAIL), ("password", &first)]).await;
    assert_eq!(res.status, 401, "the earlier password no longer works");
    let res = browser.call("sign_in", &[("email", demo::MERCHANT_EMAIL), ("password", &password)]).await;
    assert_eq!(json(&res)["application"], "approved");
    let links = json(&browser.call("list_links", &[("q", ""), ("after", "")]).await);
    assert_eq!(links["links"].as_array().unwrap().len(), 3, "three demo links, seeded once");
    assert_eq!(browser.call("set_mode", &[("mode", "live")]).await.status, 200);
    let res = server.browser().call("sign_in", &[("email", demo::REVIEWER_EMAIL), ("password", &password)]).await;
    assert_eq!(json(&res)["role"], "reviewer");
}

//! The checkout and the payment engine through real HTTP, on every backend.
use crate::common;

use common::{start_server, test_databases};
use paylinks::server::payments;
use paylinks::server::{checkout_link_cache, ids};

use common::shop::*;

#[tokio::test]
async fn test_cards_succeed_or_fail_with_their_reason() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "cards@example.com").await;
        let (id, slug) = link(&mut shop, "Matcha", "1500", &[]).await;
        for (number, status, reason) in [
            ("4111111111111111", "captured", None),
            ("5555 5555 5555 4444", "captured", None),
            ("3530111333300000", "captured", None),
            ("4123111111111000", "failed", Some("insufficient_funds")),
            ("4123111111111042", "failed", Some("expired_card")),
            ("4123111111111034", "failed", Some("bad_cvc")),
            ("4242424242424242", "failed", Some("test_card_required")),
        ] {
            let token = page_token(&server, &slug).await;
            let payment = payment_of(&server, &pay(&server, &card_form(&slug, &token, number)).await).await;
            assert_eq!(payment.view.status.as_str(), status, "{}: {number}", db.label);
            assert_eq!(payment.view.failure_reason.map(|r| r.as_str()), reason, "{}: {number}", db.label);
            let card = payment.view.card.clone().unwrap();
            assert_eq!(card.last4, number.replace(' ', "")[number.replace(' ', "").len() - 4..]);
        }
        let sales = payments::sales(&server.state.db, id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments, sales.pending_payments), (4500, 3, 4), "{}", db.label);

        // Only brand, last 4 and expiry are kept: no column holds the number or CVC.
        use sqlx::Row;
        let rows = sqlx::query("SELECT * FROM payments").fetch_all(server.state.db.pool()).await.unwrap();
        for row in &rows {
            for i in 0..row.len() {
                if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                    assert!(!text.contains("4111111111111111") && !text.contains("411111111111") && text != "123", "{text}");
                }
            }
        }
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn invalid_input_creates_nothing() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "bad@example.com").await;
        let (_, slug) = link(&mut shop, "Sencha", "800", &[]).await;
        let token = page_token(&server, &slug).await;
        for (field, value, expected_field) in [
            ("pay[card_number]", "4111111111111112", "card_number"),
            ("pay[card_expiry]", "01/20", "card_expiry"),
            ("pay[card_cvc]", "12", "card_cvc"),
            ("pay[email]", "not-an-email", "email"),
            ("pay[method]", "bitcoin", "method"),
        ] {
            let mut form = card_form(&slug, &token, "4111111111111111");
            form.retain(|(k, _)| *k != field);
            form.push((field, value));
            let res = pay(&server, &form).await;
            assert_eq!(res.status, 422, "{}: {field}: {}", db.label, res.body);
            assert_eq!(json(&res)["Invalid"]["field"], expected_field);
        }
        let bad_token = pay(&server, &card_form(&slug, "short", "4111111111111111")).await;
        assert_eq!(bad_token.status, 400);
        let unknown = pay(&server, &card_form("AAAAAAAAAAAAAAAAAAAAAA", &token, "4111111111111111")).await;
        assert_eq!(unknown.status, 404);
        assert_eq!(count_payments(&server).await, 0, "{}", db.label);
        // The token is still unused: the corrected form goes through.
        let ok = pay(&server, &card_form(&slug, &token, "4111111111111111")).await;
        assert_eq!(payment_of(&server, &ok).await.view.status.as_str(), "captured");
    }
}

#[tokio::test]
async fn double_submit_makes_one_payment() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "double@example.com").await;
        let (id, slug) = link(&mut shop, "Hojicha", "1200", &[]).await;
        let token = page_token(&server, &slug).await;
        let form = card_form(&slug, &token, "4111111111111111");
        // Eight clicks at once, then a retry after the fact.
        let results = futures::future::join_all((0..8).map(|_| pay(&server, &form))).await;
        let first = payment_of(&server, &results[0]).await;
        for res in &results {
            assert_eq!(payment_of(&server, res).await.view.public_id, first.view.public_id, "{}", db.label);
        }
        let retry = pay(&server, &form).await;
        assert_eq!(payment_of(&server, &retry).await.view.public_id, first.view.public_id);
        // Even a retry with a different card number gets the first outcome.
        let changed = pay(&server, &card_form(&slug, &token, "4123111111111000")).await;
        assert_eq!(payment_of(&server, &changed).await.view.status.as_str(), "captured");
        assert_eq!(count_payments(&server).await, 1, "{}", db.label);
        let sales = payments::sales(&server.state.db, id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments), (1200, 1));
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn usage_limit_holds_under_concurrency() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "limit@example.com").await;
        let (id, slug) = link(&mut shop, "Limited tea", "3000", &[("usage_limit", "10")]).await;
        let tokens: Vec<String> = (0..50).map(|_| ids::random_token()).collect();
        let forms: Vec<_> = tokens.iter().map(|t| card_form(&slug, t, "4111111111111111")).collect();
        let results = futures::future::join_all(forms.iter().map(|f| pay(&server, f))).await;
        let mut captured = 0;
        for res in &results {
            match res.status {
                200 => {
                    let p = payment_of(&server, res).await;
                    match p.view.status.as_str() {
                        "captured" => captured += 1,
                        "failed" => assert_eq!(p.view.failure_reason.map(|r| r.as_str()), Some("link_unavailable")),
                        other => panic!("unexpected {other}"),
                    }
                }
                410 => {}
                other => panic!("{}: unexpected status {other}: {}", db.label, res.body),
            }
        }
        assert_eq!(captured, 10, "{}", db.label);
        let sales = payments::sales(&server.state.db, id).await.unwrap();
        assert_eq!((sales.captured_payments, sales.captured_amount), (10, 30_000), "{}", db.label);
        // Sold out: the page says so with 410 and a new submit is refused.
        let page = server.get(&format!("/pay/{slug}"), &[]).await;
        assert_eq!(page.status, 410);
        assert_verified(&server, db.label).await;
    }
}

/// `n` customers pay `slug` at once; how many payments were captured.
async fn pay_concurrently(server: &common::TestServer, slug: &str, n: usize) -> usize {
    let tokens: Vec<String> = (0..n).map(|_| ids::random_token()).collect();
    let forms: Vec<_> = tokens.iter().map(|t| card_form(slug, t, "4111111111111111")).collect();
    let mut captured = 0;
    for res in futures::future::join_all(forms.iter().map(|f| pay(server, f))).await {
        if res.status == 200 && payment_of(server, &res).await.view.status.as_str() == "captured" {
            captured += 1;
        }
    }
    captured
}

async fn set_limit(shop: &mut common::Browser<'_>, id: i64, limit: &str) -> common::Response {
    let id = id.to_string();
    shop.call("update_link", &[("id", id.as_str()), ("link[name]", "Hojicha"), ("link[usage_limit]", limit)]).await
}

/// Captures of a link without a limit are counted on spread-out rows; a
/// limit set later counts them all, and one removed again lets payments
/// flow. Payments racing a limit change never pass the limit.
#[tokio::test]
async fn a_limit_set_after_captures_counts_them_all() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "later-limit@example.com").await;
        let (id, slug) = link(&mut shop, "Hojicha", "500", &[]).await;
        assert_eq!(pay_concurrently(&server, &slug, 40).await, 40, "{}", db.label);
        let spread: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM link_counters WHERE link_id = $1 AND captured_count > 0")
            .bind(id)
            .fetch_one(server.state.db.pool())
            .await
            .unwrap();
        assert!(spread > 1, "{}: counted on {spread} row(s)", db.label);

        let res = set_limit(&mut shop, id, "39").await;
        assert_eq!(json(&res)["Invalid"]["error"]["LimitBelowCaptured"]["captured"], 40, "{}: {}", db.label, res.body);
        let res = set_limit(&mut shop, id, "42").await;
        assert_eq!((res.status, json(&res)["captured_count"].as_i64()), (200, Some(40)), "{}: {}", db.label, res.body);
        assert_eq!(pay_concurrently(&server, &slug, 6).await, 2, "{}: two left under the limit", db.label);
        assert_verified(&server, db.label).await;

        let res = set_limit(&mut shop, id, "").await;
        assert_eq!(json(&res)["captured_count"].as_i64(), Some(42), "{}", db.label);
        assert_eq!(pay_concurrently(&server, &slug, 3).await, 3, "{}: no limit any more", db.label);

        // A limit set while customers pay: either it came first and holds,
        // or the captures before it already passed it and it is refused.
        let (paid, limited) = tokio::join!(pay_concurrently(&server, &slug, 30), set_limit(&mut shop, id, "60"));
        let sales = payments::sales(&server.state.db, id).await.unwrap();
        assert_eq!(sales.captured_payments, 45 + paid as i64, "{}", db.label);
        match limited.status {
            200 => assert!(sales.captured_payments <= 60, "{}: {} captured", db.label, sales.captured_payments),
            422 => assert!(json(&limited)["Invalid"]["error"]["LimitBelowCaptured"]["captured"].as_i64() > Some(60), "{}", limited.body),
            other => panic!("{}: {other} {}", db.label, limited.body),
        }
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn a_link_deactivated_after_rendering_takes_nothing() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "late@example.com").await;
        let (id, slug) = link(&mut shop, "Genmaicha", "900", &[]).await;
        let token = page_token(&server, &slug).await;
        let res = shop.call("set_link_status", &[("id", &id.to_string()), ("status", "inactive")]).await;
        assert_eq!(res.status, 200);
        let res = pay(&server, &card_form(&slug, &token, "4111111111111111")).await;
        assert_eq!(res.status, 410, "{}: {}", db.label, res.body);
        assert_eq!(count_payments(&server).await, 0);
        let page = server.get(&format!("/pay/{slug}"), &[("Accept-Language", "en")]).await;
        assert_eq!(page.status, 410);
        assert!(page.body.contains("この支払いリンク") || page.body.contains("このリンク"), "the link's language: {}", page.body);
        let english = server.get(&format!("/pay/{slug}?lang=en"), &[]).await;
        assert!(english.body.contains("no longer accepts payments"), "{}", english.body);
        assert!(!english.body.contains("pay[token]"), "no form on a closed link");
    }
}

#[tokio::test]
async fn every_page_view_gets_its_own_token_and_edits_show_at_once() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "fresh@example.com").await;
        let (id, slug) = link(&mut shop, "Sencha", "700", &[]).await;
        // The page is rendered once and reused: the token must not be.
        let tokens: Vec<String> = futures::future::join_all((0..4).map(|_| page_token(&server, &slug))).await;
        let mut unique = tokens.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), tokens.len(), "{}: {tokens:?}", db.label);
        assert!(tokens.iter().all(|t| ids::valid_token(t)));
        // Both tokens of two views can pay, each once.
        for token in &tokens[..2] {
            let res = pay(&server, &card_form(&slug, token, "4111111111111111")).await;
            assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        }
        assert_eq!(count_payments(&server).await, 2);
        // A rename through the dashboard is on the next view.
        let res = shop.call("update_link", &[("id", &id.to_string()), ("link[name]", "Sencha Premium"), ("link[language]", "ja")]).await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        let page = server.get(&format!("/pay/{slug}"), &[]).await;
        assert!(page.body.contains("Sencha Premium"), "{}", db.label);
    }
}

#[tokio::test]
async fn konbini_is_authorized_then_paid_or_expired() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "konbini@example.com").await;
        let (id, slug) = link(&mut shop, "Kabuse", "2000", &[]).await;
        let konbini = |token: String| {
            vec![
                ("pay[slug]".to_owned(), slug.clone()),
                ("pay[token]".to_owned(), token),
                ("pay[method]".to_owned(), "konbini".to_owned()),
                ("pay[email]".to_owned(), "hanako@example.jp".to_owned()),
                ("pay[store]".to_owned(), "lawson".to_owned()),
            ]
        };
        let mut ids = Vec::new();
        for _ in 0..3 {
            let form = konbini(page_token(&server, &slug).await);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let p = payment_of(&server, &pay(&server, &form).await).await;
            assert_eq!(p.view.status.as_str(), "authorized", "{}", db.label);
            assert_eq!(p.view.konbini_number.as_deref().map(str::len), Some(12));
            let days = (p.view.deadline_at - p.view.created_at) as f64 / 86_400_000.0;
            assert!((2.99..=3.01).contains(&days), "deadline in 3 days, got {days}");
            ids.push(p.view.public_id);
        }
        // The completion page shows number and deadline.
        let done = server.get(&format!("/pay/{slug}/{}", ids[0]), &[]).await;
        assert!(done.body.contains("払込番号") && done.body.contains("支払期限") && done.body.contains("ローソン"), "{}", done.body);

        let paid = action(&mut shop, &ids[0], "mark_paid", "").await;
        assert_eq!(json(&paid)["status"], "captured", "{}", paid.body);
        let expired = action(&mut shop, &ids[1], "expire", "").await;
        assert_eq!(json(&expired)["status"], "expired");
        // Marking an expired payment paid is an illegal transition.
        let again = action(&mut shop, &ids[1], "mark_paid", "").await;
        assert_eq!(again.status, 409, "{}", again.body);
        // Another merchant cannot touch it.
        let mut other = merchant(&server, "other@example.com").await;
        let foreign = action(&mut other, &ids[2], "mark_paid", "").await;
        assert_eq!(foreign.status, 404);
        // The expiry job ends the third once its deadline passes, exactly once
        // even when two servers run it at the same moment.
        let later = paylinks::server::db::now_ms() + 4 * 86_400_000;
        let (a, b) = tokio::join!(payments::expire_due(&server.state.db, later), payments::expire_due(&server.state.db, later));
        assert_eq!(a.unwrap() + b.unwrap(), 1, "{}", db.label);
        assert_eq!(payments::by_public_id(&server.state.db, &ids[2]).await.unwrap().view.status.as_str(), "expired");
        let sales = payments::sales(&server.state.db, id).await.unwrap();
        assert_eq!((sales.captured_amount, sales.captured_payments, sales.pending_payments), (2000, 1, 2));
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn refunds_and_chargebacks_move_the_summary() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "refunds@example.com").await;
        let (id, slug) = link(&mut shop, "Gyokuro", "10000", &[]).await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            let token = page_token(&server, &slug).await;
            ids.push(payment_of(&server, &pay(&server, &card_form(&slug, &token, "4111111111111111")).await).await.view.public_id);
        }
        // Partial: the amount drops, the count stays.
        let res = action(&mut shop, &ids[0], "refund", "2,500").await;
        assert_eq!((json(&res)["status"].as_str(), json(&res)["refunded_amount"].as_i64()), (Some("captured"), Some(2500)), "{}", res.body);
        let s = payments::sales(&server.state.db, id).await.unwrap();
        assert_eq!((s.captured_amount, s.captured_payments, s.refunded_payments), (27_500, 3, 0));
        // More than what is left is refused and changes nothing.
        let res = action(&mut shop, &ids[0], "refund", "7501").await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert_eq!(json(&res)["Invalid"]["field"], "amount");
        for bad in ["-1", "0", "1e3", "abc", "99999999999999999999"] {
            let res = action(&mut shop, &ids[0], "refund", bad).await;
            assert_eq!(res.status, 422, "{bad}: {}", res.body);
        }
        // The rest: fully refunded, it moves from captured to refunded.
        let res = action(&mut shop, &ids[0], "refund", "").await;
        assert_eq!(json(&res)["status"], "refunded", "{}", res.body);
        let s = payments::sales(&server.state.db, id).await.unwrap();
        assert_eq!((s.captured_amount, s.captured_payments, s.refunded_payments), (20_000, 2, 1));
        let res = action(&mut shop, &ids[0], "refund", "1").await;
        assert_eq!(res.status, 409, "nothing left: {}", res.body);
        // Chargeback: out of the captured figures, not a refund.
        let res = action(&mut shop, &ids[1], "charge_back", "").await;
        assert_eq!(json(&res)["status"], "charged_back", "{}", res.body);
        let s = payments::sales(&server.state.db, id).await.unwrap();
        assert_eq!((s.captured_amount, s.captured_payments, s.refunded_payments, s.pending_payments), (10_000, 1, 1, 0));
        // The history is complete and append-only.
        let p = payments::by_public_id(&server.state.db, &ids[0]).await.unwrap();
        let events = payments::events(&server.state.db, p.id).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["created", "captured", "refunded", "refunded"], "{}", db.label);
        assert_eq!(events[2].amount, Some(2500));
        let tamper = sqlx::query("UPDATE payment_events SET amount = 1").execute(server.state.db.pool()).await;
        assert!(tamper.is_err(), "events are append-only");
        let illegal = sqlx::query("UPDATE payments SET status = 'pending' WHERE status = 'refunded'").execute(server.state.db.pool()).await;
        assert!(illegal.is_err(), "the database refuses illegal transitions");
        assert_verified(&server, db.label).await;
        // And verify notices when the figures drift from the payments.
        sqlx::query("UPDATE link_counters SET sales_captured_amount = sales_captured_amount + 1 WHERE shard = (SELECT MIN(shard) FROM link_counters)")
            .execute(server.state.db.pool())
            .await
            .unwrap();
        let mismatches = payments::verify(&server.state.db).await.unwrap();
        assert_eq!(mismatches.len(), 1, "{mismatches:?}");
        assert_eq!((mismatches[0].what, mismatches[0].stored - mismatches[0].recomputed), ("captured amount", 1));
    }
}

#[tokio::test]
async fn paypay_approve_cancel_or_leave() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "paypay@example.com").await;
        let (_, slug) = link(&mut shop, "Kukicha", "700", &[]).await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            let token = page_token(&server, &slug).await;
            let form = [("pay[slug]", slug.as_str()), ("pay[token]", token.as_str()), ("pay[method]", "paypay"), ("pay[email]", "a@b.jp")];
            let p = payment_of(&server, &pay(&server, &form).await).await;
            assert_eq!(p.view.status.as_str(), "pending");
            ids.push(p.view.public_id);
        }
        let page = server.get(&format!("/pay/{slug}/{}/paypay", ids[0]), &[]).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("PayPay"));
        let decide = |id: String, approve: &'static str| {
            let slug = slug.clone();
            let server = &server;
            async move { server.browser().call("paypay_decision", &[("slug", slug.as_str()), ("payment", id.as_str()), ("approve", approve)]).await }
        };
        assert_eq!(payment_of(&server, &decide(ids[0].clone(), "true").await).await.view.status.as_str(), "captured");
        assert_eq!(payment_of(&server, &decide(ids[1].clone(), "false").await).await.view.status.as_str(), "cancelled");
        // Deciding again shows the first decision.
        assert_eq!(payment_of(&server, &decide(ids[1].clone(), "true").await).await.view.status.as_str(), "cancelled");
        // Left alone, it expires after its 5-minute window.
        let later = paylinks::server::db::now_ms() + 6 * 60_000;
        assert_eq!(payments::expire_due(&server.state.db, later).await.unwrap(), 1);
        assert_eq!(payments::by_public_id(&server.state.db, &ids[2]).await.unwrap().view.status.as_str(), "expired");
        assert_verified(&server, db.label).await;
    }
}

#[tokio::test]
async fn plain_html_forms_follow_post_redirect_get() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "html@example.com").await;
        let (_, slug) = link(&mut shop, "Sobacha", "500", &[("description", "<script>alert(1)</script>\n2 packs")]).await;
        let page = server.get(&format!("/pay/{slug}?lang=ko"), &[]).await;
        assert_eq!(page.header("cache-control"), Some("no-store"));
        assert!(page.body.contains("<html lang=\"ko\""), "{}", &page.body[..200]);
        assert!(page.body.contains("테스트 모드"), "test banner");
        assert!(page.body.contains("&lt;script&gt;") && !page.body.contains("<script>alert"), "description escaped");
        assert!(page.body.contains("property=\"og:title\" content=\"Sobacha\""), "open graph");
        assert!(!page.body.contains("paylinks.wasm") && !page.body.contains("paylinks.js"), "no WASM on the checkout");
        let token = token_in(&page.body);

        // A declined card: back to the form with the localized reason.
        let accept = [("Accept", "text/html")];
        let mut form = card_form(&slug, &token, "4111111111111112");
        form.retain(|(k, _)| *k != "pay[lang]");
        form.push(("pay[lang]", "ko"));
        let body = common::encode_form(&form);
        let res = server.post_form("/api/pay", &accept, &body).await;
        assert!(matches!(res.status, 302 | 303), "{}: {}", res.status, res.body);
        let location = res.header("location").unwrap().to_owned();
        assert!(location.starts_with(&format!("/pay/{slug}?error=")), "{location}");
        let again = server.get(&location, &[]).await;
        assert!(again.body.contains("카드 번호를 확인해 주세요"), "localized field error");
        assert!(again.body.contains("value=\"taro@example.jp\""), "typed email kept");
        assert!(!again.body.contains("4111111111111112"), "card number never echoed");

        // A good card: redirected to the result page.
        let form = card_form(&slug, &token, "4111111111111111");
        let res = server.post_form("/api/pay", &accept, &common::encode_form(&form)).await;
        let location = res.header("location").unwrap().to_owned();
        assert!(location.starts_with(&format!("/pay/{slug}/pay_")), "{location}");
        let done = server.get(&location, &[]).await;
        assert_eq!(done.status, 200);
        assert!(done.body.contains("Payment complete"), "{}", done.body);
        assert!(done.body.contains("Visa •••• 1111"));
        // Back button + resubmit: the same result page.
        let res = server.post_form("/api/pay", &accept, &common::encode_form(&form)).await;
        assert_eq!(res.header("location"), Some(location.as_str()));
        assert_eq!(count_payments(&server).await, 1, "{}", db.label);

        // Unknown slugs and payments are 404; a HEAD (link unfurler) creates nothing.
        assert_eq!(server.get("/pay/AAAAAAAAAAAAAAAAAAAAAA", &[]).await.status, 404);
        assert_eq!(server.get("/pay/nonsense", &[]).await.status, 404);
        assert_eq!(server.get(&format!("/pay/{slug}/pay_nope"), &[]).await.status, 404);
        assert_eq!(server.request("HEAD", &format!("/pay/{slug}"), &[], "").await.status, 200);
        assert_eq!(count_payments(&server).await, 1);
    }
}

#[tokio::test]
async fn an_online_backup_is_consistent_and_restores() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let mut shop = merchant(&server, "backup@example.com").await;
        let (_, slug) = link(&mut shop, "Hojicha", "1100", &[]).await;
        let backup_path = std::env::temp_dir().join(format!("paylinks-backup-{}.db", ids::random_token()));
        if db.label == "postgres" {
            let refused = server.state.db.backup(&backup_path).await.unwrap_err().to_string();
            assert!(refused.contains("pg_dump"), "{refused}");
            continue;
        }
        // Customers keep paying while the copy is taken.
        let tokens: Vec<String> = (0..30).map(|_| ids::random_token()).collect();
        let forms: Vec<_> = tokens.iter().map(|t| card_form(&slug, t, "4111111111111111")).collect();
        let paying = futures::future::join_all(forms.iter().map(|f| pay(&server, f)));
        let (results, backup) = tokio::join!(paying, server.state.db.backup(&backup_path));
        backup.unwrap();
        assert!(results.iter().all(|r| r.status == 200));
        let again = server.state.db.backup(&backup_path).await.unwrap_err().to_string();
        assert!(again.contains("already exists"), "{again}");

        // The copy is one moment of the database: its statistics agree with its payments.
        let restored_url = format!("sqlite://{}", backup_path.display());
        let restored = start_server(&restored_url).await;
        assert_eq!(payments::verify(&restored.state.db).await.unwrap(), vec![], "{}", db.label);
        let copied: (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM payments").fetch_one(restored.state.db.pool()).await.unwrap();
        assert!(copied.0 <= 30);
        // Restoring is starting a server on the copy: the link still sells.
        let token = page_token(&restored, &slug).await;
        let res = pay(&restored, &card_form(&slug, &token, "4111111111111111")).await;
        assert_eq!(res.status, 200, "{}", res.body);
        drop(restored);
        let _ = std::fs::remove_file(&backup_path);
    }
}

/// A customer's card attempt (Visa ending 1111) with `token`, as the checkout makes it.
fn card_attempt(token: String) -> payments::Attempt {
    use paylinks::domain::card::{CardBrand, CardSummary};
    payments::Attempt {
        token,
        method: paylinks::domain::payment::Method::Card,
        locale: paylinks::domain::Locale::En,
        customer_email: Some("hanako@example.jp".into()),
        customer_name: Some("HANAKO".into()),
        card: Some(CardSummary { brand: CardBrand::Visa, last4: "1111".into(), expiry: "12/34".into() }),
        konbini_store: None,
    }
}

/// A new attempt comes back as written (no second read): exactly what the
/// database holds. A link read before it closed or got a usage limit is
/// checked again where the payment is written: nothing is written, or the
/// capture is counted under the limit.
#[tokio::test]
async fn a_new_payment_is_what_was_stored_even_from_a_stale_link() {
    use paylinks::domain::payment::{DeclineReason, Transition};
    use payments::Facts;
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let state_db = &server.state.db;
        let mut shop = merchant(&server, "written@example.com").await;
        let (id, slug) = link(&mut shop, "Kukicha", "700", &[]).await;
        let attempt = card_attempt;
        let fresh = checkout_link_cache::checkout_link(state_db, &slug).await.unwrap();
        for transition in [Transition::Capture, Transition::Fail { reason: DeclineReason::InsufficientFunds }] {
            let token = ids::random_token();
            let outcome = Some((transition, Facts::default()));
            let (written, created) = payments::start_with(state_db, &fresh, &attempt(token.clone()), outcome.clone()).await.unwrap();
            assert!(created);
            let stored = payments::by_id(state_db, written.id).await.unwrap();
            assert_eq!((written.account_id, &written.view), (stored.account_id, &stored.view), "{}", db.label);
            // The same token again: the first payment, not a second one.
            let (again, created) = payments::start_with(state_db, &fresh, &attempt(token), outcome).await.unwrap();
            assert_eq!((again.id, created), (written.id, false), "{}", db.label);
        }

        // Read while unlimited; a limit of 2 (1 captured so far) comes before the payments.
        let res = set_limit(&mut shop, id, "2").await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        let mut outcomes = Vec::new();
        for _ in 0..2 {
            let (p, _) = payments::start_with(state_db, &fresh, &attempt(ids::random_token()), Some((Transition::Capture, Facts::default()))).await.unwrap();
            outcomes.push((p.view.status.as_str(), p.view.failure_reason));
        }
        assert_eq!(outcomes, [("captured", None), ("failed", Some(DeclineReason::LinkUnavailable))], "{}", db.label);

        // Read while active; deactivated (as on another server) before the
        // payment: nothing is written, whatever the card says.
        let res = set_limit(&mut shop, id, "").await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        let fresh = checkout_link_cache::checkout_link(state_db, &slug).await.unwrap();
        let res = shop.call("set_link_status", &[("id", &id.to_string()), ("status", "inactive")]).await;
        assert_eq!(res.status, 200);
        let before = count_payments(&server).await;
        for transition in [Transition::Capture, Transition::Fail { reason: DeclineReason::InsufficientFunds }] {
            let closed = payments::start_with(state_db, &fresh, &attempt(ids::random_token()), Some((transition, Facts::default()))).await;
            assert!(matches!(closed, Err(paylinks::error::AppError::Gone)), "{}: {closed:?}", db.label);
        }
        assert_eq!(count_payments(&server).await, before, "{}", db.label);
        let sales = payments::sales(state_db, id).await.unwrap();
        assert_eq!((sales.captured_payments, sales.captured_amount, sales.pending_payments), (2, 1400, 2), "{}", db.label);
        assert_verified(&server, db.label).await;
    }
}

/// Payments that arrive together are written together on PostgreSQL (one
/// statement for many), each with its own outcome, exactly as one by one:
/// repeats find their first payment, a link closed or limited since it was
/// read takes nothing or counts under its limit, histories keep their order.
#[tokio::test]
async fn payments_written_together_each_get_their_own_outcome() {
    use paylinks::domain::payment::{DeclineReason, Transition};
    use payments::{Attempt, Facts};
    use sqlx::Row;
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let state_db = &server.state.db;
        let mut shop = merchant(&server, "together@example.com").await;
        let (open_id, open_slug) = link(&mut shop, "Sencha", "500", &[]).await;
        let (closed_id, closed_slug) = link(&mut shop, "Bancha", "600", &[]).await;
        let (limited_id, limited_slug) = link(&mut shop, "Matcha", "900", &[]).await;
        // All three read while active and unlimited, then changed (as on another server).
        let open = checkout_link_cache::checkout_link(state_db, &open_slug).await.unwrap();
        let closed = checkout_link_cache::checkout_link(state_db, &closed_slug).await.unwrap();
        let limited = checkout_link_cache::checkout_link(state_db, &limited_slug).await.unwrap();
        let res = shop.call("set_link_status", &[("id", &closed_id.to_string()), ("status", "inactive")]).await;
        assert_eq!(res.status, 200);
        let res = shop.call("update_link", &[("id", &limited_id.to_string()), ("link[name]", "Matcha"), ("link[usage_limit]", "1")]).await;
        assert_eq!(res.status, 200, "{}", res.body);

        let capture = || Some((Transition::Capture, Facts::default()));
        let decline = || Some((Transition::Fail { reason: DeclineReason::InsufficientFunds }, Facts::default()));
        let repeated = ids::random_token();
        let mut calls = Vec::new();
        for _ in 0..20 {
            calls.push((&open, ids::random_token(), capture()));
        }
        for _ in 0..3 {
            calls.push((&open, repeated.clone(), capture()));
        }
        for _ in 0..2 {
            calls.push((&open, ids::random_token(), decline()));
            calls.push((&closed, ids::random_token(), capture()));
        }
        for _ in 0..3 {
            calls.push((&limited, ids::random_token(), capture()));
        }
        // Started together: on PostgreSQL they queue while the first are written.
        let attempts: Vec<Attempt> = calls.iter().map(|(_, token, _)| card_attempt(token.clone())).collect();
        let results = futures::future::join_all(
            calls.iter().zip(&attempts).map(|((link, _, outcome), attempt)| payments::start_with(state_db, link, attempt, outcome.clone())),
        )
        .await;

        let mut repeats = Vec::new();
        let mut limited_outcomes = Vec::new();
        for ((link, token, outcome), result) in calls.iter().zip(&results) {
            if link.id == closed_id {
                assert!(matches!(result, Err(paylinks::error::AppError::Gone)), "{}: {result:?}", db.label);
                continue;
            }
            let (payment, _) = result.as_ref().unwrap_or_else(|e| panic!("{}: {e:?}", db.label));
            let stored = payments::by_id(state_db, payment.id).await.unwrap();
            assert_eq!(&payment.view, &stored.view, "{}", db.label);
            if link.id == limited_id {
                limited_outcomes.push(payment.view.status.as_str());
            } else if *token == repeated {
                repeats.push(payment.id);
            } else {
                let expected = if matches!(outcome, Some((Transition::Capture, _))) { "captured" } else { "failed" };
                assert_eq!(payment.view.status.as_str(), expected, "{}", db.label);
            }
        }
        assert!(repeats.iter().all(|id| *id == repeats[0]), "{}: one payment per token: {repeats:?}", db.label);
        limited_outcomes.sort();
        assert_eq!(limited_outcomes, ["captured", "failed", "failed"], "{}", db.label);

        let sales = payments::sales(state_db, open_id).await.unwrap();
        assert_eq!((sales.captured_payments, sales.captured_amount, sales.pending_payments), (21, 10_500, 2), "{}", db.label);
        let sales = payments::sales(state_db, limited_id).await.unwrap();
        assert_eq!((sales.captured_payments, sales.pending_payments), (1, 2), "{}", db.label);
        assert_eq!(count_payments(&server).await, 26, "{}", db.label);
        // Every history: two events, `created` first.
        let out_of_order: i64 = sqlx::query(
            "SELECT COUNT(*) FROM payments p WHERE (SELECT COUNT(*) FROM payment_events e WHERE e.payment_id = p.id) <> 2 \
             OR (SELECT kind FROM payment_events e WHERE e.payment_id = p.id ORDER BY id LIMIT 1) <> 'created'",
        )
        .fetch_one(state_db.pool())
        .await
        .unwrap()
        .get(0);
        assert_eq!(out_of_order, 0, "{}", db.label);
        assert_verified(&server, db.label).await;

        let (statements, together) = payments::written_together(state_db);
        if db.label == "postgres" {
            assert!(statements >= 1 && together >= 10, "{}: {statements} statements wrote {together} payments together", db.label);
        } else {
            assert_eq!((statements, together), (0, 0), "SQLite writes one at a time");
        }
    }
}

//! Email through the outbox: customers' receipts, konbini instructions and
//! refund notices in the checkout's language; merchants' notifications with
//! one-click unsubscribe; account links — over real SMTP (a sink in this
//! process) or, with no SMTP configured, as `.eml` files the dashboard's
//! mailbox shows. A mail server that is down never holds up a payment, and a
//! kill -9 in a send storm loses no email.

use crate::common;

use common::shop::{action, card_form, json, link, merchant, page_token, pay, payment_of};
use common::smtp::{Received, SmtpSink};
use common::{count, free_port, start_server_configured, test_databases, TestServer};
use paylinks::domain::money::format_minor;
use paylinks::domain::{Currency, Locale};

async fn server_sending_to(db: &str, smtp_url: &str) -> TestServer {
    let smtp_url = smtp_url.to_owned();
    start_server_configured(db, move |args| {
        args.smtp_url = Some(smtp_url);
        args.mail_from = Some("receipts@pay.example.com".into());
    })
    .await
}

/// Pays `slug` by card in `lang`; the payment's public id.
async fn pay_by_card(server: &TestServer, slug: &str, lang: &str, number: &str) -> paylinks::server::payments::Payment {
    let token = page_token(server, slug).await;
    let mut form = card_form(slug, &token, number);
    form.retain(|(k, _)| *k != "pay[lang]");
    form.push(("pay[lang]", lang));
    payment_of(server, &pay(server, &form).await).await
}

/// Customer emails, not account ones (each merchant also got its sign-up
/// confirmation) nor the merchant's own notifications.
fn is_customer_mail(mail: &Received) -> bool {
    let id = mail.header("Message-ID").unwrap_or_default();
    ["<receipt.", "<konbini_instructions.", "<refund_notice."].iter().any(|kind| id.starts_with(kind))
}

/// The merchant's notifications of one kind (`payment_captured`, …).
fn notices(received: &[Received], kind: &str) -> Vec<Received> {
    received.iter().filter(|m| m.header("Message-ID").unwrap_or_default().starts_with(&format!("<{kind}."))).cloned().collect()
}

fn customers(received: Vec<Received>) -> Vec<Received> {
    received.into_iter().filter(is_customer_mail).collect()
}

async fn customer_mail(sink: &SmtpSink, n: usize, secs: u64) -> Vec<Received> {
    sink.wait_for_matching(n, secs, is_customer_mail).await
}

fn about(received: &[Received], payment: &str) -> Vec<Received> {
    received.iter().filter(|m| m.parts().0.contains(payment)).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_japanese_checkout_gets_a_japanese_receipt_by_smtp() {
    for db in test_databases().await {
        let sink = SmtpSink::start().await;
        let server = server_sending_to(&db.url, &sink.url()).await;
        let mut shop = merchant(&server, "receipts@example.com").await;
        let (_, slug) = link(&mut shop, "玉露 100g", "1500", &[]).await;
        let paid = pay_by_card(&server, &slug, "ja", "4111111111111111").await;
        assert_eq!(paid.view.status.as_str(), "captured");
        let received = customer_mail(&sink, 1, 15).await;
        assert_eq!(received.len(), 1, "{}: one receipt", db.label);
        let mail = &received[0];
        assert_eq!(mail.to, vec!["<taro@example.jp>".to_owned()]);
        let subject = mail.header("Subject").unwrap();
        assert!(subject.contains("領収書") && subject.contains("Tea House"), "{subject}");
        let (text, html) = mail.parts();
        let amount = format_minor(1500, Currency::Jpy, Locale::Ja);
        for part in [&text, &html] {
            assert!(part.contains("玉露 100g") && part.contains(&amount) && part.contains(&paid.view.public_id), "{part}");
            assert!(part.contains("決済ID") && part.contains("特定商取引法に基づく表記"), "{part}");
        }
        assert!(text.contains(&format!("{}/legal/", server.origin())), "the seller's SCTA page: {text}");
        assert!(html.contains("<html lang=\"ja\">") && !html.contains("<img"), "no remote images: {html}");
        // Dated in the merchant's zone (Tokyo by default).
        assert!(text.contains("東京"), "{text}");
        assert!(mail.header("Content-Type").unwrap().starts_with("multipart/alternative"));
        let message_id = mail.header("Message-ID").unwrap();
        assert!(message_id.starts_with("<receipt.") && message_id.ends_with("@pay.example.com>"), "{message_id}");
        assert!(mail.header("Date").is_some());
        assert!(mail.header("From").unwrap().contains("receipts@pay.example.com"));

        // A declined card sends nothing; and the receipt is never sent twice.
        let declined = pay_by_card(&server, &slug, "ja", "4000000000000002").await;
        assert_eq!(declined.view.status.as_str(), "failed");
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        assert_eq!(customers(sink.received()).len(), 1, "{}", db.label);
        let sent = count(&server.state.db, "SELECT COUNT(*) FROM email_jobs WHERE kind = 'receipt' AND state = 'sent' AND attempts = 1").await;
        assert_eq!(sent, 1, "{}", db.label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn konbini_instructions_and_refund_notices_in_the_customers_language() {
    for db in test_databases().await {
        let sink = SmtpSink::start().await;
        let server = server_sending_to(&db.url, &sink.url()).await;
        let mut shop = merchant(&server, "notices@example.com").await;
        let (_, slug) = link(&mut shop, "Sencha", "10000", &[("language", "ko")]).await;
        // Konbini: the number, the store and the deadline.
        let token = page_token(&server, &slug).await;
        let form = [
            ("pay[slug]", slug.as_str()),
            ("pay[token]", token.as_str()),
            ("pay[method]", "konbini"),
            ("pay[email]", "hanako@example.jp"),
            ("pay[store]", "lawson"),
            ("pay[lang]", "ja"),
        ];
        let konbini = payment_of(&server, &pay(&server, &form).await).await;
        let number = konbini.view.konbini_number.clone().unwrap();
        let mails = customer_mail(&sink, 1, 15).await;
        let (text, _) = mails[0].parts();
        assert!(mails[0].header("Subject").unwrap().contains("コンビニ"), "{:?}", mails[0].header("Subject"));
        assert!(text.contains(&number) && text.contains("ローソン") && text.contains("払込番号"), "{text}");

        // A card payment in Korean, refunded in part, then the rest.
        let card = pay_by_card(&server, &slug, "ko", "4111111111111111").await;
        let id = card.view.public_id.clone();
        assert_eq!(customer_mail(&sink, 2, 15).await.len(), 2);
        let res = action(&mut shop, &id, "refund", "2500").await;
        assert_eq!(json(&res)["refunded_amount"], 2500, "{}", res.body);
        let res = action(&mut shop, &id, "refund", "7500").await;
        assert_eq!(json(&res)["status"], "refunded", "{}", res.body);
        let mails = about(&customer_mail(&sink, 4, 15).await, &id);
        assert_eq!(mails.len(), 3, "{}: receipt and two refund notices", db.label);
        let (receipt, _) = mails[0].parts();
        assert!(mails[0].header("Subject").unwrap().contains("영수증") && receipt.contains("결제 ID"), "{receipt}");
        let (partial, _) = mails[1].parts();
        assert!(partial.contains(&format_minor(2500, Currency::Jpy, Locale::Ko)) && partial.contains("중"), "{partial}");
        let (full, _) = mails[2].parts();
        assert!(full.contains("전액") && full.contains(&format_minor(7500, Currency::Jpy, Locale::Ko)), "{full}");
        let ids: std::collections::BTreeSet<_> = mails.iter().map(|m| m.header("Message-ID").unwrap()).collect();
        assert_eq!(ids.len(), 3, "each email its own Message-ID");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mail_server_that_is_down_never_holds_up_a_payment() {
    for db in test_databases().await {
        // Nothing listens there yet.
        let addr = free_port();
        let server = server_sending_to(&db.url, &format!("smtp://{addr}")).await;
        let mut shop = merchant(&server, "down@example.com").await;
        let (_, slug) = link(&mut shop, "Matcha", "3000", &[]).await;
        let started = std::time::Instant::now();
        let paid = pay_by_card(&server, &slug, "en", "4111111111111111").await;
        assert_eq!(paid.view.status.as_str(), "captured");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "the payment did not wait for mail");
        // The worker tried, failed, and will try again.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while count(&server.state.db, "SELECT COUNT(*) FROM email_jobs WHERE attempts >= 1 AND state = 'pending' AND last_error IS NOT NULL").await == 0 {
            assert!(std::time::Instant::now() < deadline, "{}: no failed try recorded", db.label);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // The mail server comes up: the receipt follows, once.
        let sink = SmtpSink::start_on(addr).await;
        let mails = customer_mail(&sink, 1, 20).await;
        assert_eq!(mails.len(), 1, "{}", db.label);
        assert!(mails[0].parts().0.contains(&paid.view.public_id));
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert_eq!(customers(sink.received()).len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_merchant_name_cannot_add_headers() {
    for db in test_databases().await {
        let sink = SmtpSink::start().await;
        let server = server_sending_to(&db.url, &sink.url()).await;
        let mut shop = merchant(&server, "inject@example.com").await;
        // Whatever the sign-up form allows, the database may hold anything.
        sqlx::query("UPDATE accounts SET business_name = $1 WHERE email = 'inject@example.com'")
            .bind("Evil\r\nBcc: victim@example.com\r\nX-Injected: yes")
            .execute(server.state.db.pool())
            .await
            .unwrap();
        let (_, slug) = link(&mut shop, "Hojicha", "1000", &[]).await;
        pay_by_card(&server, &slug, "en", "4111111111111111").await;
        let mails = customer_mail(&sink, 1, 15).await;
        assert_eq!(mails.len(), 1, "{}", db.label);
        assert_eq!(mails[0].to, vec!["<taro@example.jp>".to_owned()], "one recipient only");
        assert!(mails[0].header("Bcc").is_none() && mails[0].header("X-Injected").is_none());
        let head = String::from_utf8_lossy(&mails[0].data).split("\r\n\r\n").next().unwrap().to_owned();
        assert!(!head.contains("\r\nBcc:") && !head.contains("\r\nX-Injected:"), "{head}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_smtp_emails_are_files_and_in_the_test_mode_mailbox() {
    for db in test_databases().await {
        let mail_dir = std::env::temp_dir().join(format!("paylinks-mailbox-{}-{}", std::process::id(), fastrand::u64(..)));
        let dir = mail_dir.clone();
        let server = start_server_configured(&db.url, move |args| args.mail_dir = dir).await;
        let mut shop = merchant(&server, "mailbox@example.com").await;
        let (_, slug) = link(&mut shop, "Genmaicha", "800", &[("language", "en")]).await;
        let paid = pay_by_card(&server, &slug, "en", "4111111111111111").await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let file = loop {
            let files: Vec<_> = std::fs::read_dir(&mail_dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
            let receipt = |p: &std::path::PathBuf| std::fs::read_to_string(p).is_ok_and(|t| t.contains("<receipt."));
            if let Some(eml) = files.into_iter().find(|p| p.extension().is_some_and(|e| e == "eml") && receipt(p)) {
                break eml;
            }
            assert!(std::time::Instant::now() < deadline, "{}: no .eml file", db.label);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        let eml = Received { from: String::new(), to: Vec::new(), data: std::fs::read(&file).unwrap() };
        assert!(eml.header("Subject").unwrap().contains("Your receipt from Tea House"));
        assert!(eml.parts().0.contains(&paid.view.public_id));

        // The dashboard's mailbox: what was sent, bodies included (test mode).
        let res = shop.call("email_log", &[]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let entries = json(&res)["entries"].as_array().unwrap().clone();
        let receipt = entries.iter().find(|e| e["kind"] == "receipt").unwrap_or_else(|| panic!("{}", res.body)).clone();
        let log = [receipt];
        assert_eq!(log[0]["state"], "sent", "{}", res.body);
        assert_eq!(log[0]["recipient"], "taro@example.jp");
        assert!(log[0]["text_body"].as_str().unwrap().contains(&paid.view.public_id));
        // Its HTML, for the mailbox's frame: own policy (inline styles, no
        // script, sandboxed), framed only by our own pages.
        let preview = format!("/mail/{}", log[0]["id"]);
        let html = shop.get(&preview).await;
        assert_eq!(html.status, 200, "{}", html.body);
        assert!(html.body.contains("Genmaicha") && html.body.contains(&paid.view.public_id));
        let policy = html.header("content-security-policy").unwrap();
        assert!(policy.contains("default-src 'none'") && policy.contains("sandbox") && !policy.contains("script-src"), "{policy}");
        assert_eq!(html.header("x-frame-options"), Some("SAMEORIGIN"));
        // Another merchant sees none of it, nor does a stranger.
        let mut other = merchant(&server, "nosy@example.com").await;
        assert_eq!(json(&other.call("email_log", &[]).await)["entries"], serde_json::json!([]));
        assert_eq!(other.get(&preview).await.status, 404);
        assert_eq!(server.get(&preview, &[]).await.status, 401);
        // Kept 90 days, then forgotten (the customer's address with it).
        let now = paylinks::server::db::now_ms();
        assert_eq!(paylinks::server::email::purge(&server.state.db, now).await.unwrap(), 0);
        let later = now + paylinks::server::email::LOG_RETENTION_MS + 1000;
        assert!(paylinks::server::email::purge(&server.state.db, later).await.unwrap() >= 1, "{}", db.label);
        assert_eq!(count(&server.state.db, "SELECT COUNT(*) FROM email_jobs WHERE mode IS NOT NULL").await, 0, "{}", db.label);
        assert_eq!(json(&shop.call("email_log", &[]).await)["entries"], serde_json::json!([]));
        let _ = std::fs::remove_dir_all(&mail_dir);
    }
}

fn link_in(email: &Received, path: &str) -> String {
    email.link(path).unwrap_or_else(|| panic!("no /{path} link in {}", email.parts().0))
}

fn to(received: &[Received], address: &str) -> Vec<Received> {
    received.iter().filter(|m| m.to.iter().any(|t| t.trim_matches(['<', '>']) == address)).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_account_confirms_its_address_by_the_emailed_link() {
    for db in test_databases().await {
        let sink = SmtpSink::start().await;
        let server = server_sending_to(&db.url, &sink.url()).await;
        let mut owner = server.browser();
        let form = [("business_name", "Matcha Lab"), ("email", "owner@matcha.example"), ("password", common::shop::PASSWORD)];
        assert_eq!(owner.call("sign_up", &form).await.status, 200);
        assert_eq!(owner.call("sign_in", &[("email", "owner@matcha.example"), ("password", common::shop::PASSWORD)]).await.status, 200);
        assert_eq!(json(&owner.call("current_account", &[]).await)["email_verified"], false, "{}", db.label);

        let sent = to(&sink.wait_for(1, 15).await, "owner@matcha.example");
        assert_eq!(sent.len(), 1, "{}", db.label);
        let email = &sent[0];
        assert!(email.header("From").unwrap().starts_with("Paylinks <receipts@pay.example.com>"), "{:?}", email.header("From"));
        assert!(email.header("Message-ID").unwrap().starts_with("<verify_email."));
        let (_, html) = email.parts();
        let link = link_in(email, "verify-email");
        let token = link.split("token=").nth(1).unwrap().to_owned();
        assert!(html.contains(&format!("verify-email?token={token}")), "the HTML part has the link too");

        // Only the token's hash is stored; the email's bodies (with the
        // link) are not kept, nor its sealed token once sent.
        let dump = table_text(&server, "SELECT * FROM email_jobs").await + &table_text(&server, "SELECT * FROM account_tokens").await;
        assert!(!dump.contains(&token), "{}: a usable token is in the database", db.label);
        // (The sink has the email a moment before the outbox records it as sent.)
        let kept = "SELECT COUNT(*) FROM email_jobs WHERE token_sealed IS NOT NULL OR text_body IS NOT NULL";
        for _ in 0..50 {
            if count(&server.state.db, kept).await == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(count(&server.state.db, kept).await, 0, "{}", db.label);

        // The page behind the link confirms the address (no JavaScript needed).
        let page = server.get(&link, &[("Accept", "text/html")]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("class=\"notice\""), "{}", page.body);
        assert_eq!(json(&owner.call("current_account", &[]).await)["email_verified"], true, "{}", db.label);
        // Opened again (mail scanners open links first): still confirmed.
        assert_eq!(owner.call("confirm_email", &[("token", &token)]).await.status, 200);
        // A made-up token confirms nothing.
        let res = owner.call("confirm_email", &[("token", "not-a-token")]).await;
        assert_eq!((res.status, json(&res)), (410, serde_json::json!("TokenInvalid")));
        let page = server.get("/verify-email?token=nope", &[("Accept", "text/html")]).await;
        assert!(page.body.contains("role=\"alert\""), "{}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forgotten_password_is_reset_once_by_the_emailed_link() {
    for db in test_databases().await {
        let sink = SmtpSink::start().await;
        let server = server_sending_to(&db.url, &sink.url()).await;
        let mut owner = merchant(&server, "owner@example.com").await;
        let mut laptop = server.browser();
        let signed_in = laptop.call("sign_in", &[("email", "owner@example.com"), ("password", common::shop::PASSWORD)]).await;
        assert_eq!(signed_in.status, 200);
        let _ = sink.wait_for(1, 15).await; // the sign-up's confirmation

        // The same answer whether or not the address has an account.
        let mut stranger = server.browser();
        let unknown = stranger.call("request_password_reset", &[("email", "nobody@example.com")]).await;
        let known = stranger.call("request_password_reset", &[("email", "Owner@Example.com")]).await;
        assert_eq!((unknown.status, &unknown.body), (known.status, &known.body), "{}", db.label);
        let bad = stranger.call("request_password_reset", &[("email", "not an email")]).await;
        assert_eq!(bad.status, 422);
        let sent = sink.wait_for(2, 15).await;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let resets: Vec<_> = sink.received().into_iter().filter(|m| m.header("Message-ID").unwrap().starts_with("<password_reset.")).collect();
        assert_eq!(resets.len(), 1, "{}: one reset email, to the account only ({} sent)", db.label, sent.len());
        assert_eq!(resets[0].to, vec!["<owner@example.com>".to_owned()]);
        let link = link_in(&resets[0], "reset-password");
        let token = link.split("token=").nth(1).unwrap().to_owned();

        // The form behind the link; a weak password is refused and the link stays good.
        let page = server.get(&link, &[("Accept", "text/html")]).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(&format!("value=\"{token}\"")), "{}", page.body);
        let weak = stranger.call("reset_password", &[("token", &token), ("password", "short")]).await;
        assert_eq!(weak.status, 422, "{}", weak.body);
        let new_password = "a brand new passphrase";
        let done = stranger.call("reset_password", &[("token", &token), ("password", new_password)]).await;
        assert_eq!(done.status, 200, "{}", done.body);

        // Every session ended; only the new password signs in; the link is spent.
        assert_eq!(owner.call("email_log", &[]).await.status, 401, "{}", db.label);
        assert_eq!(laptop.call("email_log", &[]).await.status, 401);
        let old = stranger.call("sign_in", &[("email", "owner@example.com"), ("password", common::shop::PASSWORD)]).await;
        assert_eq!(old.status, 401);
        let again = stranger.call("reset_password", &[("token", &token), ("password", "yet another passphrase")]).await;
        assert_eq!((again.status, json(&again)), (410, serde_json::json!("TokenInvalid")));
        let new = server.browser().call("sign_in", &[("email", "owner@example.com"), ("password", new_password)]).await;
        assert_eq!(new.status, 200, "{}", new.body);

        // A link past its hour opens nothing.
        assert_eq!(stranger.call("request_password_reset", &[("email", "owner@example.com")]).await.status, 200);
        let late = to(&sink.wait_for(resets.len() + 2, 15).await, "owner@example.com");
        let token = link_in(late.last().unwrap(), "reset-password").split("token=").nth(1).unwrap().to_owned();
        sqlx::query("UPDATE account_tokens SET expires_at = $1").bind(paylinks::server::db::now_ms() - 1).execute(server.state.db.pool()).await.unwrap();
        let expired = stranger.call("reset_password", &[("token", &token), ("password", "an expired passphrase")]).await;
        assert_eq!(expired.status, 410, "{}", db.label);

        // Without email, the operator resets it and every session ends.
        let mut desk = server.browser();
        assert_eq!(desk.call("sign_in", &[("email", "owner@example.com"), ("password", new_password)]).await.status, 200);
        let command = paylinks::server::admin::AdminCommand::ResetPassword { email: "owner@example.com".into(), password: Some("set by the operator".into()) };
        paylinks::server::admin::run(&server.state.db, command).await.unwrap();
        assert_eq!(desk.call("email_log", &[]).await.status, 401);
        let operator = server.browser().call("sign_in", &[("email", "owner@example.com"), ("password", "set by the operator")]).await;
        assert_eq!(operator.status, 200, "{}", db.label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_up_does_not_tell_whether_the_address_has_an_account() {
    for db in test_databases().await {
        let sink = SmtpSink::start().await;
        let server = server_sending_to(&db.url, &sink.url()).await;
        let _owner = merchant(&server, "owner@example.com").await;
        let accounts = "SELECT COUNT(*) FROM accounts";
        let before = count(&server.state.db, accounts).await;

        // The same answer, and no session, for a taken and a new address.
        let mut stranger = server.browser();
        let taken = stranger.call("sign_up", &[("business_name", "Copycat"), ("email", " OWNER@example.com"), ("password", "another long passphrase")]).await;
        let mut newcomer = server.browser();
        let new = newcomer.call("sign_up", &[("business_name", "Newcomer"), ("email", "newcomer@example.com"), ("password", "another long passphrase")]).await;
        assert_eq!((taken.status, new.status), (200, 200), "{}: {} / {}", db.label, taken.body, new.body);
        assert_eq!((json(&taken), json(&new)), (serde_json::json!("owner@example.com"), serde_json::json!("newcomer@example.com")));
        assert_eq!(taken.header("set-cookie").is_some(), new.header("set-cookie").is_some(), "{}", db.label);
        assert!(stranger.session().is_none() && newcomer.session().is_none());
        assert_eq!(count(&server.state.db, accounts).await, before + 1, "{}: only the new address got an account", db.label);

        // The address's owner hears of it (with the way to sign in or reset);
        // the account is untouched: the stranger's password opens nothing.
        let told = one_mail(&sink, "sign_up_attempt", "owner@example.com").await;
        let (text, _) = told.parts();
        assert!(text.contains("/signin") && text.contains("/forgot-password"), "{text}");
        one_mail(&sink, "verify_email", "newcomer@example.com").await;
        let copycat = server.browser().call("sign_in", &[("email", "owner@example.com"), ("password", "another long passphrase")]).await;
        assert_eq!(copycat.status, 401, "{}", db.label);
        let owner = server.browser().call("sign_in", &[("email", "owner@example.com"), ("password", common::shop::PASSWORD)]).await;
        assert_eq!(owner.status, 200, "{}", db.label);
        assert_eq!(json(&owner)["business_name"], "Tea House");
        let newcomer = server.browser().call("sign_in", &[("email", "newcomer@example.com"), ("password", "another long passphrase")]).await;
        assert_eq!(newcomer.status, 200, "{}", db.label);

        // Repeated tries do not flood the owner's inbox (a few an hour).
        for _ in 0..5 {
            let res = server
                .browser()
                .call("sign_up", &[("business_name", "Copycat"), ("email", "owner@example.com"), ("password", "another long passphrase")])
                .await;
            assert_eq!(res.status, 200);
        }
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let notices = count(&server.state.db, "SELECT COUNT(*) FROM email_jobs WHERE kind = 'sign_up_attempt'").await;
        assert_eq!(notices, 3, "{}", db.label);
    }
}

/// The one email of `kind` to `address` among what the sink holds, after waiting for it.
async fn one_mail(sink: &SmtpSink, kind: &str, address: &str) -> Received {
    let found = sink
        .wait_for_matching(1, 15, |m| m.to.iter().any(|t| t.contains(address)) && m.header("Message-ID").unwrap_or_default().starts_with(&format!("<{kind}.")))
        .await;
    let mut found = to(&notices(&found, kind), address);
    assert_eq!(found.len(), 1, "one {kind} email to {address}");
    found.remove(0)
}

fn token_of(email: &Received, path: &str) -> String {
    link_in(email, path).split("token=").nth(1).unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_address_changes_only_by_the_link_sent_to_it() {
    for db in test_databases().await {
        let sink = SmtpSink::start().await;
        let server = server_sending_to(&db.url, &sink.url()).await;
        let mut owner = merchant(&server, "owner@example.com").await;
        let mut laptop = server.browser();
        assert_eq!(laptop.call("sign_in", &[("email", "owner@example.com"), ("password", common::shop::PASSWORD)]).await.status, 200);
        let _other = merchant(&server, "taken@example.com").await;
        let change_jobs = "SELECT COUNT(*) FROM email_jobs WHERE kind LIKE 'email_change%'";

        // Bad input: a clear error on its field, nothing sent.
        let password = common::shop::PASSWORD;
        for (new_email, pass, field, error) in [
            ("not an email", password, "new_email", "InvalidEmail"),
            (" Owner@Example.com ", password, "new_email", "Unchanged"),
            ("new@example.com", "wrong password!", "password", "WrongPassword"),
        ] {
            let res = owner.call("request_email_change", &[("new_email", new_email), ("password", pass)]).await;
            assert_eq!(res.status, 422, "{}: {new_email}: {}", db.label, res.body);
            assert_eq!(json(&res)["Invalid"]["field"], field, "{}", res.body);
            assert!(res.body.contains(error), "{}", res.body);
        }
        assert_eq!(count(&server.state.db, change_jobs).await, 0, "{}", db.label);
        let stranger = server.browser().call("request_email_change", &[("new_email", "x@example.com"), ("password", password)]).await;
        assert_eq!(stranger.status, 401);

        // Asked for: the new address gets the link, the old one a notice
        // naming the new address with a link that cancels.
        let res = owner.call("request_email_change", &[("new_email", "New@Example.com"), ("password", password)]).await;
        assert_eq!((res.status, json(&res)), (200, serde_json::json!("new@example.com")), "{}", db.label);
        let confirm = one_mail(&sink, "email_change_confirm", "new@example.com").await;
        let notice = one_mail(&sink, "email_change_requested", "owner@example.com").await;
        assert!(notice.parts().0.contains("new@example.com"), "{}", notice.parts().0);
        let confirm_token = token_of(&confirm, "email-change/confirm");
        let cancel_token = token_of(&notice, "email-change/cancel");
        let dump = table_text(&server, "SELECT * FROM email_jobs").await + &table_text(&server, "SELECT * FROM account_tokens").await;
        assert!(!dump.contains(&confirm_token) && !dump.contains(&cancel_token), "{}: a usable token is in the database", db.label);

        // Nothing changes until the link is used — not even when it is
        // opened (mail scanners open links): the page only offers a button.
        let page = server.get(&link_in(&confirm, "email-change/confirm"), &[("Accept", "text/html")]).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(&format!("value=\"{confirm_token}\"")), "{}", page.body);
        assert_eq!(json(&owner.call("current_account", &[]).await)["email"], "owner@example.com", "{}", db.label);

        // Used: the account has the new address (confirmed), the old one is told.
        let done = server.browser().call("answer_email_change", &[("token", &confirm_token), ("answer", "confirm")]).await;
        assert_eq!(done.status, 200, "{}: {}", db.label, done.body);
        let account = json(&owner.call("current_account", &[]).await);
        assert_eq!((account["email"].as_str(), account["email_verified"].as_bool()), (Some("new@example.com"), Some(true)), "{}", db.label);
        assert_eq!(laptop.call("current_account", &[]).await.status, 200, "other sessions go on");
        let old = server.browser().call("sign_in", &[("email", "owner@example.com"), ("password", password)]).await;
        assert_eq!(old.status, 401, "{}", db.label);
        let new = server.browser().call("sign_in", &[("email", "new@example.com"), ("password", password)]).await;
        assert_eq!(new.status, 200, "{}", new.body);
        let changed = one_mail(&sink, "email_changed", "owner@example.com").await;
        assert!(changed.parts().0.contains("new@example.com"), "{}", changed.parts().0);
        // Each link works once; the cancel link died with the change.
        for (token, answer) in [(&confirm_token, "confirm"), (&cancel_token, "cancel")] {
            let again = server.browser().call("answer_email_change", &[("token", token), ("answer", answer)]).await;
            assert_eq!((again.status, json(&again)), (410, serde_json::json!("TokenInvalid")), "{}: {answer}", db.label);
        }
        let odd = server.browser().call("answer_email_change", &[("token", &confirm_token), ("answer", "maybe")]).await;
        assert_eq!(odd.status, 400);

        // An address another account has: asking says nothing about it; the
        // link refuses, and the account keeps its address.
        let res = owner.call("request_email_change", &[("new_email", "taken@example.com"), ("password", password)]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let taken = one_mail(&sink, "email_change_confirm", "taken@example.com").await;
        let res = server.browser().call("answer_email_change", &[("token", &token_of(&taken, "email-change/confirm")), ("answer", "confirm")]).await;
        assert_eq!((res.status, json(&res)), (409, serde_json::json!("EmailTaken")), "{}", db.label);
        assert_eq!(json(&owner.call("current_account", &[]).await)["email"], "new@example.com");

        // Cancelled from the current address (a plain form, JavaScript off):
        // the pending link dies, every session ends.
        let res = owner.call("request_email_change", &[("new_email", "thief@example.com"), ("password", password)]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let thief = one_mail(&sink, "email_change_confirm", "thief@example.com").await;
        let warned = to(
            &notices(
                &sink.wait_for_matching(3, 15, |m| m.header("Message-ID").unwrap_or_default().starts_with("<email_change_requested.")).await,
                "email_change_requested",
            ),
            "new@example.com",
        );
        assert_eq!(warned.len(), 2, "{}: the taken-address try and this one", db.label);
        let cancel = token_of(warned.iter().find(|m| m.parts().0.contains("thief@example.com")).unwrap(), "email-change/cancel");
        let form = common::encode_form(&[("token", &cancel), ("answer", "cancel")]);
        let res = server.post_form("/api/answer_email_change", &[("Accept", "text/html")], &form).await;
        assert!(matches!(res.status, 302 | 303), "{}: {} {}", db.label, res.status, res.body);
        assert_eq!(res.header("location"), Some("/email-change/cancel?done=1"));
        assert_eq!(owner.call("email_log", &[]).await.status, 401, "{}: every session ended", db.label);
        assert_eq!(laptop.call("email_log", &[]).await.status, 401);
        let res = server.browser().call("answer_email_change", &[("token", &token_of(&thief, "email-change/confirm")), ("answer", "confirm")]).await;
        assert_eq!(res.status, 410, "{}", db.label);
        let still = server.browser().call("sign_in", &[("email", "new@example.com"), ("password", password)]).await;
        assert_eq!(still.status, 200, "{}", db.label);
    }
}

/// Every value of every row a query returns, as text (to search for secrets).
async fn table_text(server: &TestServer, sql: &str) -> String {
    use sqlx::Row;
    let rows = sqlx::query(sql).fetch_all(server.state.db.pool()).await.unwrap();
    let mut out = String::new();
    for row in &rows {
        for i in 0..row.columns().len() {
            if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                out.push_str(&text);
                out.push('\n');
            }
        }
    }
    out
}

/// The merchant hears of each payment (with a one-click unsubscribe that
/// mutes that link alone, no sign-in needed, and that a forged token cannot
/// use), of every chargeback, and of their application's decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merchants_hear_of_payments_chargebacks_and_decisions() {
    for db in test_databases().await {
        let sink = SmtpSink::start().await;
        let server = server_sending_to(&db.url, &sink.url()).await;
        let mut shop = merchant(&server, "owner@tea.example").await;
        let (_, slug) = link(&mut shop, "Gyokuro 100g", "1500", &[]).await;
        let (_, other_slug) = link(&mut shop, "Sencha 200g", "900", &[]).await;
        let paid = pay_by_card(&server, &slug, "ja", "4111111111111111").await;
        let received = sink.wait_for_matching(1, 15, |m| !notices(std::slice::from_ref(m), "payment_captured").is_empty()).await;
        let captured = notices(&received, "payment_captured");
        assert_eq!(captured.len(), 1, "{}", db.label);
        let mail = &captured[0];
        assert_eq!(mail.to, vec!["<owner@tea.example>".to_owned()]);
        let subject = mail.header("Subject").unwrap();
        let amount = format_minor(1500, Currency::Jpy, Locale::Ja);
        assert!(subject.contains("Gyokuro 100g") && subject.contains("["), "a test-mode notice says so: {subject}");
        let (text, html) = mail.parts();
        for part in [&text, &html] {
            assert!(part.contains(&paid.view.public_id) && part.contains("taro@example.jp"), "{part}");
        }
        assert!(text.contains(&format!("{}/dashboard/transactions/{}", server.origin(), paid.view.public_id)), "{text}");
        assert!(subject.contains(&amount) || subject.contains(&format_minor(1500, Currency::Jpy, Locale::En)), "{subject}");
        let list = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
        assert_eq!(mail.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
        let url = list.trim_start_matches('<').trim_end_matches('>').to_owned();
        let path = url.strip_prefix(&server.origin()).unwrap_or_else(|| panic!("our own URL: {url}")).to_owned();
        assert!(text.contains(&url), "the footer shows it too: {text}");

        // Opening the link changes nothing (mail scanners open links).
        let page = server.get(&path, &[]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Gyokuro 100g") && page.body.contains("method=\"post\""), "{}", page.body);
        let muted = || async { count(&server.state.db, "SELECT COUNT(*) FROM links WHERE payment_emails = 0").await };
        assert_eq!(muted().await, 0);
        // A forged or altered token is refused and changes nothing.
        let (signed, tag) = path.rsplit_once('.').unwrap();
        let flipped = format!(
            "{signed}.{}",
            match tag.strip_prefix('0') {
                Some(rest) => format!("1{rest}"),
                None => format!("0{}", &tag[1..]),
            }
        );
        for forged in [flipped, format!("{}0.{tag}", signed), "/unsubscribe?t=1.daily.00000000000000000000000000000000".to_owned(), "/unsubscribe".to_owned()] {
            let res = server.post_form(&forged, &[], "List-Unsubscribe=One-Click").await;
            assert_eq!(res.status, 404, "{forged}: {}", res.body);
        }
        assert_eq!(muted().await, 0);
        // The mail client's one-click POST: no cookie, no Origin.
        let res = server.post_form(&path, &[], "List-Unsubscribe=One-Click").await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(muted().await, 1);
        let res = server.post_form(&path, &[], "List-Unsubscribe=One-Click").await;
        assert_eq!(res.status, 200, "twice is the same: {}", res.body);

        // That link's next payment is not emailed to the merchant; another link's is.
        let quiet = pay_by_card(&server, &slug, "ja", "4111111111111111").await;
        let loud = pay_by_card(&server, &other_slug, "ja", "4111111111111111").await;
        let received = sink.wait_for_matching(2, 15, |m| !notices(std::slice::from_ref(m), "payment_captured").is_empty()).await;
        let captured = notices(&received, "payment_captured");
        assert_eq!(captured.len(), 2, "{}", db.label);
        assert!(captured[1].parts().0.contains(&loud.view.public_id));
        assert!(!received.iter().any(|m| m.parts().0.contains(&quiet.view.public_id) && m.to[0].contains("owner@")), "muted link");
        assert_eq!(customer_mail(&sink, 3, 15).await.len(), 3, "customers still get their receipts");

        // A chargeback is always told, without an unsubscribe.
        let res = action(&mut shop, &paid.view.public_id, "charge_back", "").await;
        assert_eq!(json(&res)["status"], "charged_back", "{}", res.body);
        let received = sink.wait_for_matching(1, 15, |m| !notices(std::slice::from_ref(m), "chargeback_notice").is_empty()).await;
        let chargeback = &notices(&received, "chargeback_notice")[0];
        assert!(chargeback.parts().0.contains(&paid.view.public_id));
        assert_eq!(chargeback.header("List-Unsubscribe"), None);

        // The live-mode application's decision, with the reviewer's note.
        let fields = common::shop::complete_application();
        let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        form.push(("intent", "submit"));
        let res = shop.call("save_application", &form).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let account = paylinks::server::accounts::account_id_by_email(&server.state.db, "owner@tea.example").await.unwrap().unwrap().0;
        let mut reviewer = common::shop::reviewer(&server).await;
        let account_id = account.to_string();
        let res =
            reviewer.call("review_application", &[("account_id", &account_id), ("decision", "reject"), ("reason", "Add the shop's street address")]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let received = sink.wait_for_matching(1, 15, |m| !notices(std::slice::from_ref(m), "application_decided").is_empty()).await;
        let decision = &notices(&received, "application_decided")[0];
        assert!(decision.parts().0.contains("Add the shop's street address"), "{}", decision.parts().0);
        assert!(decision.parts().0.contains("/dashboard/application"));
        // In the merchant's log (test mode shows account-wide notices too).
        let log = shop.call("email_log", &[]).await;
        assert!(log.body.contains("application_decided") && log.body.contains("payment_captured"), "{}", log.body);
    }
}

/// With "daily summary" chosen, captures are not emailed one by one; the
/// next local morning brings one summary of the day (once, whichever server
/// looks), and its one-click unsubscribe turns payment emails off.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_daily_summary_replaces_per_payment_emails() {
    use paylinks::domain::time_zone::TimeZone;
    use paylinks::server::email::notify::queue_daily_summaries;
    for db in test_databases().await {
        let sink = SmtpSink::start().await;
        let server = server_sending_to(&db.url, &sink.url()).await;
        let mut shop = merchant(&server, "daily@tea.example").await;
        let res = shop.call("set_payment_emails", &[("payment_emails", "weekly")]).await;
        assert_eq!(res.status, 422, "a choice we do not offer: {}", res.body);
        let res = shop.call("set_payment_emails", &[("payment_emails", "daily")]).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let (_, slug) = link(&mut shop, "Hojicha", "1200", &[]).await;
        let first = pay_by_card(&server, &slug, "ja", "4111111111111111").await;
        pay_by_card(&server, &slug, "ja", "4111111111111111").await;
        assert_eq!(customer_mail(&sink, 2, 15).await.len(), 2);
        assert_eq!(count(&server.state.db, "SELECT COUNT(*) FROM email_jobs WHERE kind = 'payment_captured'").await, 0, "{}", db.label);

        // Before 08:00 (Tokyo) the day after: nothing; from then on: one summary.
        let tokyo = TimeZone::parse("Asia/Tokyo").unwrap();
        let captured_at = first.view.captured_at.unwrap();
        let day = tokyo.date(captured_at);
        let next_day = tokyo.date(tokyo.to_utc(&format!("{day}T00:00")).unwrap() + 30 * 3_600_000);
        let early = tokyo.to_utc(&format!("{next_day}T07:59")).unwrap();
        let morning = tokyo.to_utc(&format!("{next_day}T08:00")).unwrap();
        assert_eq!(queue_daily_summaries(&server.state.db, early).await.unwrap(), 0);
        assert_eq!(queue_daily_summaries(&server.state.db, morning).await.unwrap(), 1);
        assert_eq!(queue_daily_summaries(&server.state.db, morning + 60_000).await.unwrap(), 0, "once per day");
        // The next one is due the morning after: until then, rounds do not read this account.
        let due: Option<i64> =
            sqlx::query_scalar("SELECT daily_summary_due_at FROM accounts WHERE email = 'daily@tea.example'").fetch_one(server.state.db.pool()).await.unwrap();
        let day_after = tokyo.date(morning + 24 * 3_600_000);
        assert_eq!(due, tokyo.to_utc(&format!("{day_after}T08:00")), "{}", db.label);
        // It is due at that morning, still to come on this clock: let it be now.
        sqlx::query("UPDATE email_jobs SET next_attempt_at = 0 WHERE kind = 'daily_summary'").execute(server.state.db.pool()).await.unwrap();
        let received = sink.wait_for_matching(1, 15, |m| !notices(std::slice::from_ref(m), "daily_summary").is_empty()).await;
        let state = table_text(&server, "SELECT state, last_error FROM email_jobs WHERE kind = 'daily_summary'").await;
        let summary = notices(&received, "daily_summary").into_iter().next().unwrap_or_else(|| panic!("{}: no summary: {state}", db.label));
        let summary = &summary;
        assert!(summary.header("Subject").unwrap().contains(&day), "{:?}", summary.header("Subject"));
        let (text, _) = summary.parts();
        let total = format_minor(2400, Currency::Jpy, Locale::Ja);
        assert!(text.contains(&total) || text.contains(&format_minor(2400, Currency::Jpy, Locale::En)), "{text}");
        assert!(text.contains('2'), "two payments: {text}");

        // Its unsubscribe turns payment emails off.
        let url = summary.header("List-Unsubscribe").unwrap();
        let path = url.trim_start_matches('<').trim_end_matches('>').strip_prefix(&server.origin()).unwrap().to_owned();
        let res = server.post_form(&path, &[], "List-Unsubscribe=One-Click").await;
        assert_eq!(res.status, 200, "{}", res.body);
        let settings = shop.call("notification_settings", &[]).await;
        assert_eq!(json(&settings)["payment_emails"], "off", "{}", settings.body);
    }
}

/// kill -9 while the outbox sends a storm of emails: after a restart every
/// email is delivered and none is lost. Delivery over SMTP is at-least-once:
/// the one email in flight at the kill may arrive twice, byte for byte the
/// same with the same Message-ID (mail clients show it once); no other does.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_9_during_a_send_storm_loses_no_email() {
    use common::shop::{card_form, token_in};
    use common::{encode_form, try_request, ServerProcess};
    const PAYMENTS: usize = 40;
    for db in test_databases().await {
        let secret_key = paylinks::server::secrets::SecretBox::generate_hex();
        // The merchant and the link, made in-process on a runtime of their
        // own that ends with them (so no worker of theirs sends anything).
        let url = db.url.clone();
        let slug = std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async move {
                let server = common::start_server(&url).await;
                let mut shop = merchant(&server, "storm@example.com").await;
                link(&mut shop, "Matcha", "800", &[]).await.1
            })
        })
        .join()
        .unwrap();
        // 30 ms between taking a message and saying so: a kill lands in
        // that window as often as not.
        let sink = SmtpSink::start_slow(std::time::Duration::from_millis(30)).await;
        let smtp = sink.url();
        // One public URL for both processes (each binds a new port): the
        // resent email links to the same pages.
        let origin = "https://pay.example.com".to_owned();
        let env = [
            ("PAYLINKS_SMTP_URL", smtp.as_str()),
            ("PAYLINKS_MAIL_FROM", "storm@pay.example.com"),
            ("PAYLINKS_PUBLIC_URL", origin.as_str()),
            ("RUST_LOG", "error"),
        ];
        let server = ServerProcess::start_with(&db.url, &secret_key, &env).await;
        for _ in 0..PAYMENTS {
            let page = try_request(server.addr, "GET", &format!("/pay/{slug}"), &[], b"").await.unwrap();
            let token = token_in(&page.body);
            let body = encode_form(&card_form(&slug, &token, "4111111111111111"));
            let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin.as_str())];
            let res = try_request(server.addr, "POST", "/api/pay", &headers, body.as_bytes()).await.unwrap();
            assert_eq!(res.status, 200, "{}", res.body);
        }
        // Each payment queued a receipt and the merchant's notice: kill the
        // server in the middle of sending them.
        let before = sink.wait_for(10, 30).await.len();
        server.kill();
        let store = paylinks::server::db::Db::connect(&db.url).await.unwrap();
        let jobs = count(&store, "SELECT COUNT(*) FROM email_jobs").await;
        assert!(jobs >= 2 * PAYMENTS as i64, "{}: {jobs} jobs", db.label);
        let sent_before_restart = count(&store, "SELECT COUNT(*) FROM email_jobs WHERE state = 'sent'").await;
        assert!(sent_before_restart < jobs, "{}: the kill came after the storm ({before} received)", db.label);
        // The killed server's lease would run out in two minutes; end it now.
        sqlx::query("UPDATE email_jobs SET lease_until = NULL").execute(store.pool()).await.unwrap();
        let server = ServerProcess::start_with(&db.url, &secret_key, &env).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        // (The sign-up confirmation's token was sealed with the first runtime's key: not ours to send.)
        while count(&store, "SELECT COUNT(*) FROM email_jobs WHERE state <> 'sent' AND kind <> 'verify_email'").await > 0 {
            assert!(std::time::Instant::now() < deadline, "{}: emails still unsent a minute after the restart", db.label);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        drop(server);
        // The merchant's sign-up confirmation went out from the first runtime's mail folder.
        let keys: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, dedupe_key FROM email_jobs WHERE kind <> 'verify_email'").fetch_all(store.pool()).await.unwrap();
        let expected: std::collections::BTreeSet<String> = keys.iter().map(|(id, key)| format!("<{}.{id}@pay.example.com>", key.replace(':', "."))).collect();
        let mut seen = std::collections::BTreeMap::<String, Vec<Received>>::new();
        for mail in sink.received().into_iter().filter(|m| !m.header("Message-ID").unwrap().starts_with("<verify_email.")) {
            seen.entry(mail.header("Message-ID").unwrap()).or_default().push(mail);
        }
        let received: std::collections::BTreeSet<String> = seen.keys().cloned().collect();
        assert_eq!(received, expected, "{}: every queued email arrived, and nothing else", db.label);
        let twice: Vec<_> = seen.iter().filter(|(_, copies)| copies.len() > 1).collect();
        assert!(
            twice.len() <= 1,
            "{}: only the email in flight at the kill may come twice: {:?}",
            db.label,
            twice.iter().map(|(id, _)| id).collect::<Vec<_>>()
        );
        for (id, copies) in twice {
            assert_eq!(copies.len(), 2, "{}: {id}", db.label);
            let same = |m: &Received| (m.header("Subject"), m.header("Date"), m.to.clone(), m.parts());
            assert_eq!(same(&copies[0]), same(&copies[1]), "{}: a resend is the same email", db.label);
        }
    }
}

/// The receipt's address is checked before anything is stored: a mistyped
/// one sends the customer back to the form (JavaScript off) with the error in
/// the checkout's language, what they typed kept, and no payment or email.
#[tokio::test]
async fn an_invalid_customer_email_is_refused_in_the_checkouts_language() {
    for db in test_databases().await {
        let server = common::start_server(&db.url).await;
        let mut shop = merchant(&server, "typo@example.com").await;
        let (_, slug) = link(&mut shop, "Kukicha", "700", &[]).await;
        let jobs_before = count(&server.state.db, "SELECT COUNT(*) FROM email_jobs").await;
        for (lang, message) in
            [("ja", "有効なメールアドレスを入力してください。"), ("en", "Enter a valid email address."), ("ko", "올바른 이메일 주소를 입력해 주세요.")]
        {
            for typed in ["taro@", "taro example.jp", "taro@example.jp\r\nBcc: x@evil.example"] {
                let token = page_token(&server, &slug).await;
                let mut form = card_form(&slug, &token, "4111111111111111");
                form.retain(|(k, _)| *k != "pay[lang]" && *k != "pay[email]");
                form.push(("pay[lang]", lang));
                form.push(("pay[email]", typed));
                let res = server.post_form("/api/pay", &[("Accept", "text/html")], &common::encode_form(&form)).await;
                assert!(matches!(res.status, 302 | 303), "{lang} {typed:?}: {} {}", res.status, res.body);
                let back = server.get(res.header("location").unwrap(), &[]).await;
                assert!(back.body.contains(&format!("<html lang=\"{lang}\"")), "{lang}");
                assert!(back.body.contains(message), "{}: {lang} {typed:?}: the localized error", db.label);
                // The JSON answer (the page's script) names the field.
                let res = pay(&server, &form).await;
                assert_eq!((res.status, json(&res)["Invalid"]["field"].as_str()), (422, Some("email")), "{lang} {typed:?}");
            }
        }
        assert_eq!(common::shop::count_payments(&server).await, 0, "{}", db.label);
        assert_eq!(count(&server.state.db, "SELECT COUNT(*) FROM email_jobs").await, jobs_before, "{}", db.label);
    }
}

//! Attacks from issue 25, each tried against a real server: password
//! guessing in parallel and from forged addresses, sign-up storms that would
//! exhaust memory with Argon2, and slow clients (slowloris).

mod common;

use common::shop::{json, merchant, PASSWORD};
use common::{encode_form, start_server_configured, test_databases, Response, ServerProcess, TestServer};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A sign-in as a browser behind the trusted proxy at 127.0.0.1 sends it.
async fn sign_in_from(server: &TestServer, forwarded_for: &str, email: &str, password: &str) -> Response {
    let body = encode_form(&[("email", email), ("password", password)]);
    server.post_form("/api/sign_in", &[("X-Forwarded-For", forwarded_for)], &body).await
}

fn behind_proxy(args: &mut paylinks::server::config::ConfigArgs) {
    args.trusted_proxies = "127.0.0.1".into();
}

#[tokio::test]
async fn parallel_guesses_cannot_all_pass_the_check() {
    for db in test_databases().await {
        let server = start_server_configured(&db.url, |_| {}).await;
        merchant(&server, "owner@example.com").await;
        let guesses = (0..30).map(|i| {
            let server = &server;
            async move {
                let body = encode_form(&[("email", "owner@example.com"), ("password", &format!("guess number {i}"))]);
                server.post_form("/api/sign_in", &[], &body).await.status
            }
        });
        let statuses = futures_util::future::join_all(guesses).await;
        let verified = statuses.iter().filter(|s| **s == 401).count();
        let refused = statuses.iter().filter(|s| **s == 429).count();
        // Five free guesses, then the wait: never the 30 a check-then-record limiter let through.
        assert_eq!((verified, refused), (5, 25), "{}: {statuses:?}", db.label);
    }
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_merchant_out() {
    for db in test_databases().await {
        let server = start_server_configured(&db.url, behind_proxy).await;
        merchant(&server, "owner@example.com").await;
        for _ in 0..12 {
            sign_in_from(&server, "203.0.113.66", "owner@example.com", "not the password").await;
        }
        let stranger = sign_in_from(&server, "203.0.113.66", "owner@example.com", PASSWORD).await;
        assert_eq!(stranger.status, 429, "{}: the guesser waits, even with the right password", db.label);
        let wait: u64 = stranger.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=30).contains(&wait), "{}: a short, growing wait, not a lock: {wait}", db.label);
        // The merchant, from their own address, signs in at once.
        let own = sign_in_from(&server, "198.51.100.7", "owner@example.com", PASSWORD).await;
        assert_eq!(own.status, 200, "{}: {}", db.label, own.body);
    }
}

#[tokio::test]
async fn forged_forwarding_headers_do_not_evade_the_address_limit() {
    for db in test_databases().await {
        let label = db.label;
        // Without trusted proxies the header is ignored: every guess counts for the socket's address.
        let direct = start_server_configured(&db.url, |_| {}).await;
        let mut last = 0;
        for i in 0..21 {
            let forged = format!("10.0.{}.{}", i / 250, i % 250);
            last = sign_in_from(&direct, &forged, &format!("guess{i}@example.com"), "wrong password!").await.status;
        }
        assert_eq!(last, 429, "{label}: X-Forwarded-For from an untrusted peer is ignored");

        // Behind the proxy, the client controls the left of the chain, the proxy appends the real address.
        let proxied = start_server_configured(&db.url, behind_proxy).await;
        for i in 0..20 {
            let chain = format!("6.6.{i}.6, 198.51.100.20");
            assert_eq!(sign_in_from(&proxied, &chain, &format!("guess{i}@example.com"), "wrong password!").await.status, 401);
        }
        let res = sign_in_from(&proxied, "6.6.99.6, 198.51.100.20", "fresh@example.com", "wrong password!").await;
        assert_eq!(res.status, 429, "{label}: the rightmost untrusted hop is the client, whatever the left says");
        let other = sign_in_from(&proxied, "198.51.100.21", "fresh@example.com", "wrong password!").await;
        assert_eq!(other.status, 401, "{label}: another client is not affected");
    }
}

#[tokio::test]
async fn sign_ups_and_password_changes_are_limited_per_address() {
    for db in test_databases().await {
        let server = start_server_configured(&db.url, |args| args.sign_up_limit = 3).await;
        for i in 0..3 {
            merchant(&server, &format!("shop{i}@example.com")).await;
        }
        let mut browser = server.browser();
        let res = browser.call("sign_up", &[("business_name", "Tea"), ("email", "shop9@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 429, "{}: {}", db.label, res.body);
        assert!(res.header("retry-after").is_some());
        assert_eq!(json(&res)["RateLimited"]["retry_after_secs"].as_u64().map(|s| s > 0), Some(true));

        // Password changes: ten from one address per window, right or wrong.
        let server = start_server_configured(&db.url, |_| {}).await;
        let mut shop = merchant(&server, "owner@example.com").await;
        let change = |current: &'static str| [("current_password", current), ("new_password", "another good passphrase"), ("confirm_password", "another good passphrase")];
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(shop.call("change_password", &change("wrong current password")).await.status);
        }
        // Five wrong guesses of the current password, then the account's guesses wait.
        assert_eq!(statuses, [422, 422, 422, 422, 422, 429], "{}", db.label);
    }
}

/// Peak resident memory of the process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn five_hundred_sign_ups_at_once_keep_memory_bounded() {
    let db = &test_databases().await[0];
    let server = ServerProcess::start(&db.url, &paylinks::server::secrets::SecretBox::generate_hex()).await;
    let before = peak_rss_kib(server.pid());
    let origin = format!("http://{}", server.addr);
    let storm = (0..500).map(|i| {
        let origin = origin.clone();
        let addr = server.addr;
        async move {
            let email = format!("storm{i}@example.com");
            let body = encode_form(&[("business_name", "Storm"), ("email", &email), ("password", PASSWORD)]);
            let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin.as_str())];
            common::try_request(addr, "POST", "/api/sign_up", &headers, body.as_bytes()).await
        }
    });
    let answers = futures_util::future::join_all(storm).await;
    let peak = peak_rss_kib(server.pid());
    let mut created = 0;
    for answer in &answers {
        let answer = answer.as_ref().expect("every sign-up is answered");
        match answer.status {
            200 => created += 1,
            503 => assert!(answer.header("retry-after").is_some(), "a busy answer says when to come back"),
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert!(created > 0, "some sign-ups went through");
    // Each Argon2 run holds 19 MiB; hundreds at once took gigabytes. Now a
    // few slots run and the rest wait (or are told to come back).
    let grown_mib = (peak.saturating_sub(before)) / 1024;
    assert!(grown_mib < 200, "peak memory grew by {grown_mib} MiB during the storm ({created} created)");
    let health = common::try_request(server.addr, "GET", "/healthz", &[], b"").await.unwrap();
    assert_eq!(health.status, 200);
}

/// A link to check out, on a fresh server with short timeouts.
async fn checkout_server(db_url: &str, configure: impl FnOnce(&mut paylinks::server::config::ConfigArgs)) -> (TestServer, String) {
    let server = start_server_configured(db_url, configure).await;
    let mut shop = merchant(&server, "owner@example.com").await;
    let (_, slug) = common::shop::link(&mut shop, "Sencha", "1200", &[]).await;
    (server, slug)
}

#[tokio::test]
async fn slow_clients_neither_starve_checkout_nor_stay_connected() {
    let db = &test_databases().await[0];
    let (server, slug) = checkout_server(&db.url, |args| args.request_timeout_secs = 2).await;
    // 2,000 connections that send the start of a request line, then nothing.
    let mut slow = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"GET /pay/").await.unwrap();
        slow.push(stream);
    }
    let started = Instant::now();
    let page = server.get(&format!("/pay/{slug}"), &[]).await;
    assert_eq!(page.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1), "checkout answered in {:?}", started.elapsed());
    // After the header timeout the server has closed every one of them:
    // each read ends (EOF, a reset, or an error status) instead of hanging.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let reads = slow.iter_mut().map(|stream| async move {
        let mut buf = [0u8; 512];
        tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await.is_ok()
    });
    let closed = futures_util::future::join_all(reads).await.into_iter().filter(|closed| *closed).count();
    assert_eq!(closed, 2000, "slow connections closed by the server");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_their_turn() {
    let db = &test_databases().await[0];
    let (server, slug) = checkout_server(&db.url, |args| {
        args.max_connections = 50;
        args.request_timeout_secs = 2;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let page = server.get(&format!("/pay/{slug}"), &[]).await;
    let waited = started.elapsed();
    assert_eq!(page.status, 200);
    // Served once the idle ones timed out and gave their places back.
    assert!(waited >= Duration::from_millis(1200) && waited < Duration::from_secs(6), "served after {waited:?}");
    drop(idle);
}

#[tokio::test]
async fn one_visitor_cannot_flood_a_link_with_payments() {
    use common::shop::{card_form, count_payments, page_token, payment_of};
    for db in test_databases().await {
        let label = db.label;
        let server = start_server_configured(&db.url, |args| {
            behind_proxy(args);
            args.checkout_rate_limit = 5;
            args.checkout_link_rate_limit = 8;
            args.lookup_rate_limit = 4;
        })
        .await;
        let mut shop = merchant(&server, "owner@example.com").await;
        let (_, slug) = common::shop::link(&mut shop, "Sencha", "1200", &[]).await;
        let submit = |client: &'static str, token: String| {
            let server = &server;
            let slug = slug.clone();
            async move {
                let body = encode_form(&card_form(&slug, &token, "4111111111111111"));
                server.post_form("/api/pay", &[("X-Forwarded-For", client)], &body).await
            }
        };
        // One visitor: five payments a minute, then 429 and no new row.
        let mut first = None;
        for _ in 0..5 {
            let res = submit("198.51.100.1", page_token(&server, &slug).await).await;
            assert_eq!(res.status, 200, "{label}: {}", res.body);
            first.get_or_insert(payment_of(&server, &res).await);
        }
        let refused = submit("198.51.100.1", page_token(&server, &slug).await).await;
        assert_eq!(refused.status, 429, "{label}: {}", refused.body);
        assert!(refused.header("retry-after").is_some());
        assert_eq!(count_payments(&server).await, 5, "{label}");
        // Other visitors share the link's eight a minute.
        for client in ["198.51.100.2", "198.51.100.3", "198.51.100.4"] {
            assert_eq!(submit(client, page_token(&server, &slug).await).await.status, 200, "{label}");
        }
        assert_eq!(submit("198.51.100.5", page_token(&server, &slug).await).await.status, 429, "{label}: the link's limit");
        assert_eq!(count_payments(&server).await, 8, "{label}");
        // Looking payments up: four a minute per visitor.
        let first = first.unwrap();
        let path = format!("/pay/{slug}/{}", first.view.public_id);
        for _ in 0..4 {
            assert_eq!(server.get(&path, &[("X-Forwarded-For", "198.51.100.9")]).await.status, 200, "{label}");
        }
        let page = server.get(&path, &[("X-Forwarded-For", "198.51.100.9")]).await;
        assert_eq!(page.status, 429, "{label}");
        assert!(page.body.contains("Too many attempts") || page.body.contains("試行回数"), "{label}: a localized page");
        assert_eq!(server.get(&path, &[("X-Forwarded-For", "198.51.100.10")]).await.status, 200, "{label}: others still see theirs");
    }
}

//! Attacks from issue 25, each tried against a real server: password
//! guessing in parallel and from forged addresses, sign-up storms that would
//! exhaust memory with Argon2, and slow clients (slowloris).
//!
//! Its own binary, not a module of `tests/api/`: it measures how long answers
//! take, which other tests running beside it in one process would disturb.

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
        let change = |current: &'static str| {
            [("current_password", current), ("new_password", "another good passphrase"), ("confirm_password", "another good passphrase")]
        };
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(shop.call("change_password", &change("wrong current password")).await.status);
        }
        // Five wrong guesses of the current password, then the account's guesses wait.
        assert_eq!(statuses, [422, 422, 422, 422, 422, 429], "{}", db.label);
    }
}

fn call(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
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
            // A connection the test process itself could not make (it holds
            // thousands of sockets while other tests run) is tried once more.
            match common::try_request(addr, "POST", "/api/sign_up", &headers, body.as_bytes()).await {
                Some(answer) => Some(answer),
                None => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    common::try_request(addr, "POST", "/api/sign_up", &headers, body.as_bytes()).await
                }
            }
        }
    });
    let answers = futures_util::future::join_all(storm).await;
    let peak = peak_rss_kib(server.pid());
    let mut created = 0;
    for answer in &answers {
        let answer = answer.as_ref().expect("every sign-up is answered");
        match answer.status {
            200 => created += 1,
            // A retried one whose first try had gone through.
            409 => created += 1,
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

/// One raw request with exactly these headers (no Host added for us).
async fn raw(server: &TestServer, head: &str, body: &str) -> u16 {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    common::try_parse_response(&answer, false).expect("an answer").status
}

#[tokio::test]
async fn forms_are_same_origin_with_the_public_url_not_the_host_header() {
    let db = &test_databases().await[0];
    let server = start_server_configured(&db.url, |args| args.public_url = Some("https://pay.example.com".into())).await;
    let form = encode_form(&[("business_name", "Tea"), ("email", "proxied@example.com"), ("password", PASSWORD)]);
    let post = |host: &str, origin: &str| {
        format!("POST /api/sign_up HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nContent-Type: application/x-www-form-urlencoded\r\n")
    };
    // Behind nginx's default proxying the Host is the upstream's, the Origin the site's.
    assert_eq!(raw(&server, &post(&server.addr.to_string(), "https://pay.example.com"), &form).await, 200);
    // A page on another site whose request claims that site as Host too.
    let forged = encode_form(&[("business_name", "Evil"), ("email", "evil@example.com"), ("password", PASSWORD)]);
    assert_eq!(raw(&server, &post("evil.example", "http://evil.example"), &forged).await, 403);
    assert_eq!(raw(&server, &post("pay.example.com", "http://pay.example.com"), &forged).await, 403, "another scheme");
    assert_eq!(raw(&server, &post("pay.example.com", "https://pay.example.com:8443"), &forged).await, 403, "another port");
}

#[tokio::test]
async fn sessions_end_when_idle_and_are_purged() {
    use paylinks::server::auth;
    use sqlx::Row;
    for db in test_databases().await {
        let server = start_server_configured(&db.url, |_| {}).await;
        let mut shop = merchant(&server, "owner@example.com").await;
        let pool = server.state.db.pool();
        let deadline = || async { sqlx::query("SELECT expires_at FROM sessions").fetch_one(pool).await.unwrap().get::<i64, _>(0) };
        // Used a while ago: using it moves the idle deadline a day ahead again.
        let soon = paylinks::server::db::now_ms() + 5 * 60 * 1000;
        sqlx::query("UPDATE sessions SET expires_at = $1").bind(soon).execute(pool).await.unwrap();
        assert_eq!(shop.call("list_links", &[("q", ""), ("after", "")]).await.status, 200, "{}", db.label);
        assert!(deadline().await > soon + auth::SESSION_IDLE_MS / 2, "{}: touched", db.label);
        // Never past fourteen days from sign-in, however busy.
        let old = paylinks::server::db::now_ms() - auth::SESSION_TTL_MS + 60_000;
        sqlx::query("UPDATE sessions SET created_at = $1, expires_at = $2").bind(old).bind(soon).execute(pool).await.unwrap();
        assert_eq!(shop.call("list_links", &[("q", ""), ("after", "")]).await.status, 200);
        assert!(deadline().await <= old + auth::SESSION_TTL_MS, "{}: capped at the absolute end", db.label);
        // Idle for a day: signed out, and the periodic job deletes the row.
        sqlx::query("UPDATE sessions SET expires_at = $1").bind(paylinks::server::db::now_ms() - 1).execute(pool).await.unwrap();
        assert_eq!(shop.call("list_links", &[("q", ""), ("after", "")]).await.status, 401, "{}", db.label);
        assert_eq!(auth::purge_sessions(&server.state.db, paylinks::server::db::now_ms()).await.unwrap(), 1, "{}", db.label);
    }
}

#[tokio::test]
async fn https_sessions_use_a_host_prefixed_cookie() {
    let db = &test_databases().await[0];
    let server = start_server_configured(&db.url, |args| args.public_url = Some("https://pay.example.com".into())).await;
    let form = encode_form(&[("business_name", "Tea"), ("email", "secure@example.com"), ("password", PASSWORD)]);
    let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "https://pay.example.com")];
    let res = server.request("POST", "/api/sign_up", &headers, &form).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let form = encode_form(&[("email", "secure@example.com"), ("password", PASSWORD)]);
    let res = server.request("POST", "/api/sign_in", &headers, &form).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let cookie = res.header("set-cookie").unwrap().lines().find(|l| l.contains("pl_session=")).unwrap().to_owned();
    assert!(cookie.starts_with("__Host-pl_session="), "{cookie}");
    assert!(cookie.contains("; Path=/") && cookie.contains("; Secure") && !cookie.contains("Domain"), "{cookie}");
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
    let body = encode_form(&[("q", ""), ("after", "")]);
    let ask = |cookie: String| {
        let server = &server;
        let body = body.clone();
        async move {
            let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "https://pay.example.com"), ("Cookie", cookie.as_str())];
            server.request("POST", "/api/list_links", &headers, &body).await.status
        }
    };
    assert_eq!(ask(format!("__Host-pl_session={token}")).await, 200);
    assert_eq!(ask(format!("pl_session={token}")).await, 401, "the unprefixed name (settable by a subdomain) is not read");
}

#[tokio::test]
async fn api_keys_per_account_are_capped() {
    for db in test_databases().await {
        let server = start_server_configured(&db.url, |_| {}).await;
        let mut shop = merchant(&server, "owner@example.com").await;
        let max = paylinks::server::api_keys::MAX_ACTIVE_KEYS;
        let mut first = None;
        for i in 0..max {
            let res = shop.call("create_api_key", &[("name", &format!("key {i}"))]).await;
            assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
            first.get_or_insert(json(&res)["key"]["id"].as_i64().unwrap());
        }
        let res = shop.call("create_api_key", &[("name", "one too many")]).await;
        assert_eq!(res.status, 422, "{}: {}", db.label, res.body);
        assert_eq!(json(&res)["Invalid"]["error"]["TooManyKeys"]["max"], max, "{}", db.label);
        let res = shop.call("revoke_api_key", &[("id", &first.unwrap().to_string())]).await;
        assert_eq!(res.status, 200, "{}: {}", db.label, res.body);
        assert_eq!(shop.call("create_api_key", &[("name", "in its place")]).await.status, 200, "{}", db.label);
    }
}

/// An endpoint that answers after `delay`, counting what arrived and when.
async fn endpoint(delay: Duration) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Instant>>>) {
    use axum::routing::post;
    let arrivals: std::sync::Arc<std::sync::Mutex<Vec<Instant>>> = Default::default();
    let seen = arrivals.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move || {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(Instant::now());
                tokio::time::sleep(delay).await;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, arrivals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_endpoint_does_not_hold_up_other_merchants() {
    use common::shop::{card_form, page_token, pay};
    let db = &test_databases().await[0];
    let server = start_server_configured(&db.url, |args| args.webhook_timeout_secs = 10).await;
    let (slow_url, slow_seen) = endpoint(Duration::from_secs(10)).await;
    let (fast_url, fast_seen) = endpoint(Duration::ZERO).await;
    let subscribe = |url: &str| vec![("url".to_owned(), url.to_owned()), ("events[]".to_owned(), "payment.captured".to_owned())];

    let mut slow_shop = merchant(&server, "slow@example.com").await;
    assert_eq!(slow_shop.call("create_webhook_endpoint", &call(&subscribe(&slow_url))).await.status, 200);
    let (_, slow_slug) = common::shop::link(&mut slow_shop, "Slow tea", "1000", &[]).await;
    let mut fast_shop = merchant(&server, "fast@example.com").await;
    assert_eq!(fast_shop.call("create_webhook_endpoint", &call(&subscribe(&fast_url))).await.status, 200);
    let (_, fast_slug) = common::shop::link(&mut fast_shop, "Fast tea", "1000", &[]).await;

    // Twenty events for the slow endpoint first: more than all the worker's slots.
    for _ in 0..20 {
        let res = pay(&server, &card_form(&slow_slug, &page_token(&server, &slow_slug).await, "4111111111111111")).await;
        assert_eq!(res.status, 200, "{}", res.body);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paid = Instant::now();
    let res = pay(&server, &card_form(&fast_slug, &page_token(&server, &fast_slug).await, "4111111111111111")).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let deadline = paid + Duration::from_secs(5);
    while fast_seen.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the other merchant's event waited behind the slow endpoint");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The slow endpoint gets one delivery at a time, not every slot.
    assert_eq!(slow_seen.lock().unwrap().len(), 1, "one at a time per endpoint");
}

/// A POST whose body is sent chunked (no Content-Length): `total` bytes of `fill`.
async fn chunked_post(server: &TestServer, path: &str, content_type: &str, cookie: &str, prefix: &[u8], total: usize) -> u16 {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\nContent-Type: {content_type}\r\nCookie: {cookie}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr,
        server.origin()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut sent = 0;
    let mut first = true;
    while sent < total {
        let chunk: Vec<u8> = if first { prefix.to_vec() } else { vec![b'a'; 64 * 1024] };
        first = false;
        let framed = [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk.clone(), b"\r\n".to_vec()].concat();
        if stream.write_all(&framed).await.is_err() {
            break; // the server stopped reading: refused mid-stream
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    common::try_parse_response(&answer, false).map_or(0, |r| r.status)
}

#[tokio::test]
async fn chunked_bodies_are_cut_off_at_each_routes_limit() {
    let db = &test_databases().await[0];
    let server = start_server_configured(&db.url, |_| {}).await;
    let shop = merchant(&server, "owner@example.com").await;
    let cookie: String = shop.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    // A form 4 MB long (its limit is 256 KB): refused, nothing stored.
    let status = chunked_post(&server, "/api/create_link", "application/x-www-form-urlencoded", &cookie, b"link[name]=", 4 << 20).await;
    assert!(matches!(status, 0 | 400 | 413), "form: {status}");
    // An upload 6 MB long (its limit is 2 MB and change).
    let status = chunked_post(
        &server,
        "/api/upload_image",
        "multipart/form-data; boundary=x",
        &cookie,
        b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n",
        6 << 20,
    )
    .await;
    assert!(matches!(status, 0 | 400 | 413 | 422), "upload: {status}");
    use sqlx::Row;
    let stored: i64 = sqlx::query("SELECT COUNT(*) FROM links").fetch_one(server.state.db.pool()).await.unwrap().get(0);
    assert_eq!(stored, 0);
    assert_eq!(server.get("/healthz", &[]).await.status, 200);
}

#[tokio::test]
async fn images_are_stored_without_their_metadata_within_a_quota() {
    let db = &test_databases().await[0];
    let server = start_server_configured(&db.url, |_| {}).await;
    let mut shop = merchant(&server, "owner@example.com").await;
    // A JPEG with a comment segment saying where it was taken.
    let plain = common::shop::jpeg();
    let note = b"GPS 35.6586N 139.7454E taken at home";
    let mut marked = plain[..2].to_vec();
    marked.extend_from_slice(&[0xff, 0xfe]);
    marked.extend_from_slice(&((note.len() + 2) as u16).to_be_bytes());
    marked.extend_from_slice(note);
    marked.extend_from_slice(&plain[2..]);
    let res = shop.upload("upload_image", "image", "photo.jpg", "image/jpeg", &marked).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let url = json(&res)["url"].as_str().unwrap().to_owned();
    let served = server.get(&url, &[]).await;
    assert_eq!(served.status, 200);
    assert!(!served.bytes.windows(note.len()).any(|w| w == note), "the comment was stripped");
    assert!(served.bytes.starts_with(&[0xff, 0xd8]), "still a JPEG");
    // Past the account's quota: refused with the localized reason.
    use sqlx::Row;
    let account: i64 = sqlx::query("SELECT id FROM accounts").fetch_one(server.state.db.pool()).await.unwrap().get(0);
    let filler = vec![0u8; paylinks::server::images::QUOTA_BYTES as usize];
    sqlx::query("INSERT INTO images (account_id, sha256, content_type, width, height, bytes, created_at) VALUES ($1, $2, 'image/png', 1, 1, $3, 0)")
        .bind(account)
        .bind("f".repeat(64))
        .bind(filler)
        .execute(server.state.db.pool())
        .await
        .unwrap();
    let res = shop.upload("upload_image", "image", "another.png", "image/png", &common::shop::png(5, 5)).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("ImageQuota"), "{}", res.body);
}

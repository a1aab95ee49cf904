//! Scale-out: two `paylinks serve` processes on one database (PostgreSQL, and
//! SQLite's file too), requests spread over both like a load balancer does.
//! Sessions work on either, one idempotency token gives one payment whichever
//! server gets it, a usage limit holds across both, a deactivated link stops
//! taking payments on the other server at once, and both expiry jobs running
//! on the same overdue payments expire each exactly once. And a rolling
//! restart (SIGTERM, drain, start again, one node after the other) under
//! load fails no customer's payment.

use crate::common;

use common::shop::{card_form, token_in, PASSWORD};
use common::{count, test_databases, try_request, Response, ServerProcess, Visitor};
use paylinks::server::{db::Db, payments};
use serde_json::Value;
use std::net::SocketAddr;

fn json(res: &Response) -> Value {
    serde_json::from_str(&res.body).unwrap_or_else(|e| panic!("{e}: {}", res.body))
}

async fn token(server: SocketAddr, slug: &str) -> String {
    let page = try_request(server, "GET", &format!("/pay/{slug}"), &[], b"").await.unwrap();
    assert_eq!(page.status, 200);
    token_in(&page.body)
}

async fn create_link(visitor: &mut Visitor, server: SocketAddr, name: &str, extra: &[(&str, &str)]) -> (i64, String) {
    let mut form = vec![("link[name]", name), ("link[amount]", "1500"), ("link[currency]", "JPY"), ("link[language]", "en")];
    form.extend_from_slice(extra);
    let res = visitor.call(server, "create_link", &form).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let link = json(&res);
    (link["id"].as_i64().unwrap(), link["slug"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_share_one_database_safely() {
    for db in test_databases().await {
        let label = db.label;
        let key = paylinks::server::secrets::SecretBox::generate_hex();
        let a = ServerProcess::start(&db.url, &key).await;
        let b = ServerProcess::start(&db.url, &key).await;
        let servers = [a.addr, b.addr];
        let store = Db::connect(&db.url).await.unwrap();

        // A session made on one server works on the other; signing out on one ends it on both.
        let mut shop = Visitor::default();
        let res = shop.call(servers[0], "sign_up", &[("business_name", "Tea"), ("email", "lb@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        let res = shop.call(servers[1], "sign_in", &[("email", "lb@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        let (link_id, slug) = create_link(&mut shop, servers[1], "Sencha", &[]).await;
        let res = shop.call(servers[0], "get_link", &[("id", &link_id.to_string())]).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);

        // The same token sent to both servers at once: one payment, the same answer.
        for _ in 0..10 {
            let token = token(servers[0], &slug).await;
            let form = card_form(&slug, &token, "4111111111111111");
            let (mut first, mut second) = (Visitor::default(), Visitor::default());
            let (x, y) = tokio::join!(first.call(servers[0], "pay", &form), second.call(servers[1], "pay", &form));
            assert_eq!((x.status, y.status), (200, 200), "{label}: {} / {}", x.body, y.body);
            assert_eq!(x.body, y.body, "{label}: two answers for one token");
        }
        assert_eq!(count(&store, "SELECT COUNT(*) FROM payments").await, 10, "{label}");

        // A usage limit of 5 holds when 24 customers spread over both servers.
        let (limited_id, limited) = create_link(&mut shop, servers[0], "Limited Gyokuro", &[("link[usage_limit]", "5")]).await;
        let customers = (0..24).map(|i| {
            let server = servers[i % 2];
            let slug = limited.clone();
            tokio::spawn(async move {
                let page = try_request(server, "GET", &format!("/pay/{slug}"), &[], b"").await.unwrap();
                if page.status != 200 {
                    return page.status; // already sold out when the page was opened
                }
                let token = token_in(&page.body);
                Visitor::default().call(server, "pay", &card_form(&slug, &token, "4111111111111111")).await.status
            })
        });
        let statuses: Vec<u16> = futures::future::join_all(customers).await.into_iter().map(Result::unwrap).collect();
        // (An attempt that lost the race is answered with its result page: failed, "link unavailable".)
        assert!(statuses.iter().all(|s| [200, 410].contains(s)), "{label}: {statuses:?}");
        let captured = count(&store, &format!("SELECT COUNT(*) FROM payments WHERE link_id = {limited_id} AND status = 'captured'")).await;
        assert_eq!(captured, 5, "{label}");

        // Deactivated on one server: the other refuses the next payment at once,
        // even to a page opened before.
        let open_page = token(servers[1], &slug).await;
        let res = shop.call(servers[0], "set_link_status", &[("id", &link_id.to_string()), ("status", "inactive")]).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        let res = Visitor::default().call(servers[1], "pay", &card_form(&slug, &open_page, "4111111111111111")).await;
        assert_eq!(res.status, 410, "{label}: {}", res.body);
        shop.call(servers[1], "set_link_status", &[("id", &link_id.to_string()), ("status", "active")]).await;

        // Konbini attempts whose deadline passed: both servers' expiry jobs
        // (every second) race for them; each expires exactly once.
        let mut konbini = Vec::new();
        for i in 0..12 {
            let server = servers[i % 2];
            let token = token(server, &slug).await;
            let mut form = card_form(&slug, &token, "");
            form.retain(|(k, _)| !k.starts_with("pay[card") && *k != "pay[method]");
            form.push(("pay[method]", "konbini"));
            form.push(("pay[store]", "lawson"));
            let res = Visitor::default().call(server, "pay", &form).await;
            assert_eq!(res.status, 200, "{label}: {}", res.body);
            konbini.push(json(&res).as_str().unwrap().rsplit('/').next().unwrap().to_owned());
        }
        sqlx::query("UPDATE payments SET deadline_at = 1 WHERE method = 'konbini'").execute(store.pool()).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while count(&store, "SELECT COUNT(*) FROM payments WHERE method = 'konbini' AND status = 'expired'").await < 12 {
            assert!(std::time::Instant::now() < deadline, "{label}: the expiry jobs did not expire the overdue attempts");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await; // both jobs have run again since
        let events =
            count(&store, "SELECT COUNT(*) FROM payment_events e JOIN payments p ON p.id = e.payment_id WHERE p.method = 'konbini' AND e.kind = 'expired'")
                .await;
        assert_eq!(events, 12, "{label}: an attempt expired twice");

        // Signing out on one server ends the session on the other.
        let mut stale = shop.clone();
        assert_eq!(shop.call(servers[1], "sign_out", &[]).await.status, 200);
        let res = stale.call(servers[0], "get_link", &[("id", &link_id.to_string())]).await;
        assert_eq!(res.status, 401, "{label}: {}", res.body);

        let mismatches = payments::verify(&store).await.unwrap();
        assert!(mismatches.is_empty(), "{label}: {mismatches:?}");
        store.close().await;
        drop((a, b));
    }
}

/// What the public URL is behind the balancer (both nodes share it, and form
/// posts carry it as their Origin).
const SITE: &str = "http://paylinks.test";

/// One request as a load balancer forwards it: to `nodes[first]`, and to the
/// other node when that one refuses the connection or drops it unanswered
/// (nginx's `proxy_next_upstream error`). `None`: neither answered.
async fn balanced(nodes: &[SocketAddr; 2], first: usize, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Option<Response> {
    for i in 0..4 {
        if let Some(res) = try_request(nodes[(first + i) % 2], method, path, headers, body).await {
            return Some(res);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

/// A customer: opens the checkout page, pays by card. Retrying a submit on
/// the other node is safe: the page's one-time token makes it one payment.
async fn customer(nodes: &[SocketAddr; 2], n: usize, slug: &str) -> Result<String, String> {
    let page = balanced(nodes, n, "GET", &format!("/pay/{slug}"), &[], b"").await.ok_or("page: no node answered")?;
    if page.status != 200 {
        return Err(format!("page: {}", page.status));
    }
    let token = token_in(&page.body);
    let body = common::encode_form(&card_form(slug, &token, "4111111111111111"));
    let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", SITE)];
    let res = balanced(nodes, n + 1, "POST", "/api/pay", &headers, body.as_bytes()).await.ok_or("pay: no node answered")?;
    if res.status != 200 {
        return Err(format!("pay: {} {}", res.status, res.body));
    }
    Ok(json(&res).as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned())
}

/// Issue 28: a rolling restart under load. Customers keep paying through the
/// balancer while each node in turn gets SIGTERM (it stops accepting, finishes
/// what it holds, exits 0) and is started again on its address. No
/// customer's payment fails, and each is captured exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_under_load_fails_no_payment() {
    for db in test_databases().await {
        let label = db.label;
        let key = paylinks::server::secrets::SecretBox::generate_hex();
        let env = [("PAYLINKS_PUBLIC_URL", SITE)];
        let a = ServerProcess::start_with(&db.url, &key, &env).await;
        let b = ServerProcess::start_with(&db.url, &key, &env).await;
        let nodes = [a.addr, b.addr];
        let store = Db::connect(&db.url).await.unwrap();

        let mut shop = Visitor::default();
        let res = shop.call_from(SITE, nodes[0], "sign_up", &[("business_name", "Tea"), ("email", "rolling@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        let res = shop.call_from(SITE, nodes[0], "sign_in", &[("email", "rolling@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        let link = [("link[name]", "Sencha"), ("link[amount]", "1500"), ("link[currency]", "JPY"), ("link[language]", "en")];
        let res = shop.call_from(SITE, nodes[1], "create_link", &link).await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        let slug = json(&res)["slug"].as_str().unwrap().to_owned();

        // Eight customers at a time, one after another, until told to stop.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let shoppers: Vec<_> = (0..8)
            .map(|i| {
                let (stop, slug) = (stop.clone(), slug.clone());
                tokio::spawn(async move {
                    let mut outcomes = Vec::new();
                    let mut n = i;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        outcomes.push(customer(&nodes, n, &slug).await);
                        n += 1;
                    }
                    outcomes
                })
            })
            .collect();

        // Node a, then node b: SIGTERM, drained exit, started again.
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let mut restarted = Vec::new();
        for node in [a, b] {
            let addr = node.addr;
            let status = node.terminate();
            assert!(status.success(), "{label}: {addr} did not exit cleanly after SIGTERM: {status}");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            restarted.push(ServerProcess::start_at(addr, &db.url, &key, &env).await);
            tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let outcomes: Vec<Result<String, String>> = futures::future::join_all(shoppers).await.into_iter().flat_map(Result::unwrap).collect();

        let failed: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
        assert!(failed.is_empty(), "{label}: {} of {} customers failed: {failed:?}", failed.len(), outcomes.len());
        assert!(outcomes.len() >= 40, "{label}: only {} payments during the restarts", outcomes.len());
        let paid: std::collections::BTreeSet<&String> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        assert_eq!(paid.len(), outcomes.len(), "{label}: two customers got one payment");
        let captured = count(&store, "SELECT COUNT(*) FROM payments WHERE status = 'captured'").await;
        assert_eq!(captured as usize, outcomes.len(), "{label}: captured payments ≠ customers who paid");
        let mismatches = payments::verify(&store).await.unwrap();
        assert!(mismatches.is_empty(), "{label}: {mismatches:?}");
        store.close().await;
        drop(restarted);
    }
}

//! Scale-out: two `paylinks serve` processes on one database (PostgreSQL, and
//! SQLite's file too), requests spread over both like a load balancer does.
//! Sessions work on either, one idempotency token gives one payment whichever
//! server gets it, a usage limit holds across both, a deactivated link stops
//! taking payments on the other server at once, and both expiry jobs running
//! on the same overdue payments expire each exactly once.

mod common;

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

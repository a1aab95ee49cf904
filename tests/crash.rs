//! Crash test: customers pay while the server process is killed with SIGKILL
//! at a random moment; after a restart every payment a customer was told had
//! succeeded exists exactly once, no idempotency token has two payments, and
//! the statistics agree with the payments (`verify`).
//!
//! CI runs 3 rounds per backend; `PAYLINKS_CRASH_ROUNDS=20` (make soak) runs
//! the long version.

mod common;

use common::shop::{card_form, link, merchant, token_in};
use common::{count, encode_form, start_server, test_databases, try_request, Response, ServerProcess};
use paylinks::domain::payment::PaymentStatus;
use paylinks::server::{db::Db, payments};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CUSTOMERS: usize = 32;

/// What the customers were told: token → result page URL of each success.
#[derive(Default)]
struct Outcomes {
    succeeded: BTreeMap<String, BTreeSet<String>>,
    /// Submitted, but the server died before answering.
    unanswered: BTreeSet<String>,
    errors: Vec<String>,
}

async fn pay_once(addr: SocketAddr, form: &[(&str, &str)]) -> Option<Response> {
    let body = encode_form(form);
    let origin = format!("http://{addr}");
    let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin.as_str())];
    try_request(addr, "POST", "/api/pay", &headers, body.as_bytes()).await
}

/// Pays until the server disappears; one customer in four double-submits.
async fn customer(addr: SocketAddr, slug: String, seed: u64, outcomes: Arc<Mutex<Outcomes>>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    loop {
        let Some(page) = try_request(addr, "GET", &format!("/pay/{slug}"), &[], b"").await else { return };
        if page.status != 200 {
            outcomes.lock().unwrap().errors.push(format!("checkout page: {}", page.status));
            return;
        }
        let token = token_in(&page.body);
        let form = card_form(&slug, &token, "4111111111111111");
        let answers = if rng.u8(..4) == 0 {
            let (a, b) = tokio::join!(pay_once(addr, &form), pay_once(addr, &form));
            vec![a, b]
        } else {
            vec![pay_once(addr, &form).await]
        };
        let mut gone = false;
        for answer in answers {
            match answer {
                None => {
                    gone = true;
                    outcomes.lock().unwrap().unanswered.insert(token.clone());
                }
                Some(res) if res.status == 200 => {
                    let url: String = serde_json::from_str(&res.body).unwrap();
                    outcomes.lock().unwrap().succeeded.entry(token.clone()).or_default().insert(url);
                }
                Some(res) => outcomes.lock().unwrap().errors.push(format!("pay: {} {}", res.status, res.body)),
            }
        }
        if gone {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_survive_kill_9() {
    let rounds: usize = std::env::var("PAYLINKS_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let seed = std::env::var("PAYLINKS_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    println!("crash test: {rounds} rounds per backend, seed {seed} (PAYLINKS_CRASH_SEED to repeat)");
    let mut rng = fastrand::Rng::with_seed(seed);
    for db in test_databases().await {
        let secret_key = paylinks::server::secrets::SecretBox::generate_hex();
        // The merchant and link are made in-process, then the real binary takes over.
        let slug = {
            let server = start_server(&db.url).await;
            let mut shop = merchant(&server, "crash@example.com").await;
            link(&mut shop, "Sencha", "1200", &[]).await.1
        };
        let mut told_success = BTreeMap::<String, BTreeSet<String>>::new();
        let mut unanswered = BTreeSet::<String>::new();
        let mut total_kills = 0;
        for round in 0..rounds {
            let server = ServerProcess::start(&db.url, &secret_key).await;
            let outcomes = Arc::new(Mutex::new(Outcomes::default()));
            let customers: Vec<_> =
                (0..CUSTOMERS).map(|i| tokio::spawn(customer(server.addr, slug.clone(), seed ^ ((round * 100 + i) as u64), outcomes.clone()))).collect();
            tokio::time::sleep(Duration::from_millis(rng.u64(150..1500))).await;
            server.kill();
            total_kills += 1;
            for c in customers {
                c.await.unwrap();
            }
            let outcomes = Arc::try_unwrap(outcomes).ok().unwrap().into_inner().unwrap();
            assert!(outcomes.errors.is_empty(), "{} round {round}: errors before the kill: {:?}", db.label, outcomes.errors);
            unanswered.extend(outcomes.unanswered);
            for (token, urls) in outcomes.succeeded {
                told_success.entry(token).or_default().extend(urls);
            }
        }

        // Restart once more and check everything customers were told.
        let server = ServerProcess::start(&db.url, &secret_key).await;
        let store = Db::connect(&db.url).await.unwrap();
        for (token, urls) in &told_success {
            assert_eq!(urls.len(), 1, "{}: token {token} was answered with two payments: {urls:?}", db.label);
            let public_id = urls.iter().next().unwrap().rsplit('/').next().unwrap();
            let payment = payments::by_token(&store, token)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{}: payment {public_id} confirmed to a customer is gone after kill -9", db.label));
            assert_eq!(payment.view.public_id, public_id, "{}", db.label);
            assert_eq!(payment.view.status, PaymentStatus::Captured, "{}: {public_id}", db.label);
        }
        let payments_count = count(&store, "SELECT COUNT(*) FROM payments").await;
        let distinct_tokens = count(&store, "SELECT COUNT(DISTINCT idempotency_token) FROM payments").await;
        assert_eq!(payments_count, distinct_tokens, "{}: a token with two payments", db.label);
        assert!(payments_count as usize >= told_success.len());
        assert!(!told_success.is_empty(), "{}: no payment succeeded before the kills", db.label);
        // A customer whose answer was lost submits again: the same payment if
        // it was stored, a new one if not, never two.
        let retried = unanswered.iter().filter(|t| !told_success.contains_key(*t)).take(40).cloned().collect::<Vec<_>>();
        for token in &retried {
            let before = payments::by_token(&store, token).await.unwrap();
            let res = pay_once(server.addr, &card_form(&slug, token, "4111111111111111")).await.unwrap();
            assert_eq!(res.status, 200, "{}: retry of {token}: {}", db.label, res.body);
            let url: String = serde_json::from_str(&res.body).unwrap();
            if let Some(before) = before {
                assert!(url.ends_with(&before.view.public_id), "{}: retry of {token} made a second payment", db.label);
            }
        }
        let after_retries = count(&store, "SELECT COUNT(*) FROM payments").await;
        assert_eq!(after_retries, count(&store, "SELECT COUNT(DISTINCT idempotency_token) FROM payments").await);
        // And the restarted server still takes payments.
        let page = try_request(server.addr, "GET", &format!("/pay/{slug}"), &[], b"").await.unwrap();
        let token = token_in(&page.body);
        let res = pay_once(server.addr, &card_form(&slug, &token, "4111111111111111")).await.unwrap();
        assert_eq!(res.status, 200, "{}", res.body);
        let mismatches = payments::verify(&store).await.unwrap();
        assert!(mismatches.is_empty(), "{}: statistics disagree after kill -9: {mismatches:?}", db.label);
        println!(
            "{}: {rounds} rounds, {total_kills} kills, {} payments confirmed, {payments_count} stored, 0 lost, {} unanswered retried",
            db.label,
            told_success.len(),
            retried.len()
        );
        store.close().await;
    }
}

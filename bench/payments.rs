//! Test-mode card payments end to end through real HTTP, from many customers
//! at once, beside the database's raw rate of single-row insert transactions.

use crate::report::{Budget, Report, Row};
use anyhow::{Context, Result};
use paylinks::server::db::{Backend, Db};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CLIENTS: usize = 32;

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    errors: AtomicU64,
}

/// Customers paying by card for `seconds`: each posts the checkout form (a
/// fresh idempotency token per payment, as each page render carries one) and
/// gets back its result page's path. Returns (payments/s, successes, errors).
async fn pay_for(base: &str, slug: &str, seconds: f64) -> Result<(f64, u64, u64)> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build()?;
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for customer in 0..CLIENTS {
        let (client, tally) = (client.clone(), tally.clone());
        let (url, origin, slug) = (format!("{base}/api/pay"), base.to_owned(), slug.to_owned());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let token = paylinks::server::ids::random_token();
                let email = format!("customer{customer}@example.jp");
                let form = [
                    ("pay[slug]", slug.as_str()),
                    ("pay[token]", token.as_str()),
                    ("pay[method]", "card"),
                    ("pay[lang]", "ja"),
                    ("pay[email]", email.as_str()),
                    ("pay[name]", "TARO YAMADA"),
                    ("pay[card_number]", "4111111111111111"),
                    ("pay[card_expiry]", "12/34"),
                    ("pay[card_cvc]", "123"),
                ];
                let sent = client.post(&url).header("Origin", &origin).form(&form).send().await;
                let paid = match sent {
                    Ok(r) if r.status().is_success() => r.text().await.is_ok_and(|t| t.contains("/pay_")),
                    _ => false,
                };
                if paid { &tally.ok } else { &tally.errors }.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = tally.ok.load(Ordering::Relaxed);
    Ok((ok as f64 / elapsed, ok, tally.errors.load(Ordering::Relaxed)))
}

/// The baseline: single-row INSERT transactions (autocommit) on the same
/// database, from this process, with as many concurrent writers.
async fn raw_inserts(db: &Db, seconds: f64) -> Result<f64> {
    let create = match db.backend() {
        Backend::Sqlite => "CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, created_at BIGINT NOT NULL)",
        Backend::Postgres => "CREATE TABLE IF NOT EXISTS bench_raw (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, created_at BIGINT NOT NULL)",
    };
    sqlx::query(create).execute(db.pool()).await?;
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..CLIENTS {
        let (db, count) = (db.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                sqlx::query("INSERT INTO bench_raw (payload, created_at) VALUES ($1, $2)")
                    .bind(format!("writer {writer}"))
                    .bind(paylinks::server::db::now_ms())
                    .execute(db.pool())
                    .await?;
                count.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let rate = count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    sqlx::query("DROP TABLE bench_raw").execute(db.pool()).await?;
    Ok(rate)
}

/// Item 4 on one backend. `db` is the database the server at `base` uses.
pub async fn throughput(report: &mut Report, label: &str, bin: &Path, database_url: &str, db: &Db, base: &str, shop: &crate::server::Shop) -> Result<()> {
    let captured_before = captured(db, shop.link_id).await?;
    pay_for(base, &shop.slug, 1.0).await?; // warm-up
    let warm = captured(db, shop.link_id).await? - captured_before;
    let (rate, ok, errors) = pay_for(base, &shop.slug, 8.0).await?;
    let baseline = raw_inserts(db, 8.0).await?;
    report.push(
        Row::new(format!("{label}: card payments, HTTP POST → captured ({CLIENTS} clients)"), rate, "pay/s", Budget::RatioAtLeast(0.25))
            .against("single-row INSERT transactions", baseline),
    );
    report.push(Row::new(format!("{label}: payment errors"), errors as f64, "", Budget::AtMost(0.0)));
    // Every success the customers saw is a captured payment, and nothing more.
    let in_db = captured(db, shop.link_id).await? - captured_before - warm;
    report.push(Row::new(format!("{label}: captured in DB − successes answered"), (in_db as f64 - ok as f64).abs(), "", Budget::AtMost(0.0)));
    let verify = std::process::Command::new(bin)
        .arg("verify")
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .context("cannot run paylinks verify")?;
    report.push(Row::new(format!("{label}: `paylinks verify` disagreements (exit code)"), verify.status.code().unwrap_or(-1) as f64, "", Budget::AtMost(0.0)));
    Ok(())
}

async fn captured(db: &Db, link_id: i64) -> Result<i64> {
    let row: (i64,) =
        sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM payments WHERE link_id = $1 AND status = 'captured'").bind(link_id).fetch_one(db.pool()).await?;
    Ok(row.0)
}

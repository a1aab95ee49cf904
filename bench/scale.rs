//! One merchant with 1,000,000 payments on one link: the Total Sales Summary
//! (stored statistics vs the naive aggregate over payments) and the
//! Transactions page (first page, page 10,000, a filtered page), with the
//! database's plan for each.

use crate::report::{Budget, Report, Row};
use anyhow::{Context, Result};
use paylinks::domain::link::format_local_datetime;
use paylinks::domain::transactions::{Cursor, TransactionQuery, FILTER_OFFSET_MINUTES, PAGE_SIZE};
use paylinks::server::db::{now_ms, Backend, Db};
use paylinks::server::{auth, payments, transactions};
use std::future::Future;
use std::time::Instant;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Median wall time of `runs` calls, in ms.
pub async fn median_ms<F, Fut, T>(runs: usize, mut call: F) -> Result<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        call().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Inserts `count` payments spread over the last 365 days: 80 % captured
/// (1 in 20 of them partly refunded), 5 % refunded, 5 % charged back,
/// 5 % failed, 5 % expired; a quarter konbini, the rest cards.
async fn seed_payments(db: &Db, link_id: i64, account_id: i64, count: i64) -> Result<()> {
    let step = 365 * DAY_MS / count;
    let t0 = now_ms() - 365 * DAY_MS;
    let sql = "INSERT INTO payments (public_id, link_id, account_id, mode, idempotency_token, method, status, amount, currency, \
               refunded_amount, locale, customer_email, card_brand, card_last4, deadline_at, created_at, updated_at, captured_at) \
               WITH RECURSIVE n(i) AS (SELECT CAST($1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < CAST($2 AS BIGINT)) \
               SELECT 'pay_bench' || i, CAST($3 AS BIGINT), CAST($4 AS BIGINT), 'test', 'tok_bench' || i, \
               CASE WHEN i % 4 = 0 THEN 'konbini' ELSE 'card' END, \
               CASE i % 20 WHEN 0 THEN 'failed' WHEN 1 THEN 'expired' WHEN 2 THEN 'refunded' WHEN 3 THEN 'charged_back' ELSE 'captured' END, \
               1500, 'JPY', CASE i % 20 WHEN 2 THEN 1500 WHEN 4 THEN 500 ELSE 0 END, 'ja', \
               'customer' || (i % 10000) || '@example.jp', \
               CASE WHEN i % 4 = 0 THEN NULL ELSE 'visa' END, CASE WHEN i % 4 = 0 THEN NULL ELSE '1111' END, \
               CAST($5 AS BIGINT) + i * CAST($6 AS BIGINT) + 600000, CAST($5 AS BIGINT) + i * CAST($6 AS BIGINT), \
               CAST($5 AS BIGINT) + i * CAST($6 AS BIGINT), \
               CASE WHEN i % 20 IN (0, 1) THEN NULL ELSE CAST($5 AS BIGINT) + i * CAST($6 AS BIGINT) + 1000 END \
               FROM n";
    let batch = 100_000;
    let mut first = 1;
    while first <= count {
        let last = (first + batch - 1).min(count);
        sqlx::query(sql).bind(first).bind(last).bind(link_id).bind(account_id).bind(t0).bind(step).execute(db.pool()).await.context("seeding payments")?;
        first = last + 1;
    }
    Ok(())
}

/// The Total Sales Summary computed from the payments table: what a product
/// without stored statistics would run on every page view.
fn naive_summary_sql() -> String {
    format!("SELECT {} FROM payments WHERE link_id = $1", payments::FIGURES_OF_PAYMENTS)
}

async fn naive_summary(db: &Db, link_id: i64) -> Result<(i64, i64, i64, i64, i64)> {
    Ok(sqlx::query_as(&naive_summary_sql()).bind(link_id).fetch_one(db.pool()).await?)
}

/// A plan reads through indexes when no step scans the payments table
/// without one and nothing is sorted afterwards.
pub fn plan_uses_indexes(lines: &[String]) -> bool {
    let bad = |l: &String| {
        let l = l.trim_start_matches([' ', '-', '>']);
        l.starts_with("Seq Scan on payments") || l.starts_with("Sort") || l.contains("TEMP B-TREE") || (l.starts_with("SCAN p") && !l.contains("USING"))
    };
    !lines.is_empty() && !lines.iter().any(bad)
}

pub async fn run(report: &mut Report, label: &str, db: &Db, public_url: &str, count: i64) -> Result<()> {
    let shop = crate::server::seed_shop(db, public_url).await?;
    let started = Instant::now();
    seed_payments(db, shop.link_id, shop.account_id, count).await?;
    let truth = naive_summary(db, shop.link_id).await?;
    // The stored statistics for these rows, as the payment engine would have
    // kept them: one counter row per shard (payment id mod 16), and the
    // chart's per-day figures per shard.
    let shards = payments::COUNTER_SHARDS;
    sqlx::query(&format!(
        "INSERT INTO link_counters (link_id, shard, sales_captured_amount, sales_captured_payments, \
         sales_pending_payments, sales_refunded_payments, captured_count) SELECT link_id, id % {shards}, {figures} \
         FROM payments WHERE link_id = $1 GROUP BY link_id, id % {shards}",
        figures = payments::FIGURES_OF_PAYMENTS
    ))
    .bind(shop.link_id)
    .execute(db.pool())
    .await?;
    sqlx::query(&format!(
        "INSERT INTO link_daily_shards (link_id, day, shard, amount) SELECT link_id, (captured_at + 32400000) / 86400000, id % {shards}, \
         SUM(amount - refunded_amount) FROM payments WHERE link_id = $1 AND captured_at IS NOT NULL \
         AND status IN ('captured', 'refunded') GROUP BY link_id, (captured_at + 32400000) / 86400000, id % {shards}",
    ))
    .bind(shop.link_id)
    .execute(db.pool())
    .await?;
    if db.backend() == Backend::Postgres {
        // What autovacuum does after a bulk load; without it the planner guesses.
        sqlx::query("ANALYZE payments").execute(db.pool()).await?;
    }
    report.note(format!("{label}: seeded {count} payments in {:.1} s", started.elapsed().as_secs_f64()));

    // Item 5: the summary.
    let stored = payments::sales(db, shop.link_id).await.map_err(crate::server::app)?;
    anyhow::ensure!(
        (stored.captured_amount, stored.captured_payments, stored.pending_payments, stored.refunded_payments) == (truth.0, truth.1, truth.2, truth.3),
        "stored summary differs from the payments"
    );
    let summary_ms = median_ms(2000, || async { payments::sales(db, shop.link_id).await.map_err(crate::server::app) }).await?;
    let naive_ms = median_ms(5, || naive_summary(db, shop.link_id)).await?;
    report.push(
        Row::new(format!("{label}: Total Sales Summary, link with {count} payments"), summary_ms, "ms", Budget::SpeedupAtLeast(100.0))
            .against("aggregate over payments", naive_ms),
    );
    report.push(Row::new(format!("{label}: Total Sales Summary time"), summary_ms, "ms", Budget::AtMost(2.0)));
    let chart_ms = median_ms(5, || async { transactions::daily_captured(db, shop.link_id, 30).await.map_err(crate::server::app) }).await?;
    report.push(Row::new(format!("{label}: 30-day sales chart of that link"), chart_ms, "ms", Budget::AtMost(2.0)));

    // Item 6: the Transactions page.
    let account = auth::account_by_id(db, shop.account_id).await.map_err(crate::server::app)?.context("no account")?;
    let account = auth::Merchant::of(account).map_err(crate::server::app)?;
    let page_10000: (i64, i64) =
        sqlx::query_as("SELECT created_at, id FROM payments WHERE account_id = $1 AND mode = 'test' ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $2")
            .bind(shop.account_id)
            .bind((10_000 - 1) * PAGE_SIZE as i64 - 1)
            .fetch_one(db.pool())
            .await?;
    let day = |days_ago: i64| format_local_datetime(now_ms() - days_ago * DAY_MS, FILTER_OFFSET_MINUTES)[..10].to_owned();
    let cases = [
        ("first page", TransactionQuery::default()),
        ("page 10,000 (keyset)", TransactionQuery { after: Cursor { created_at: page_10000.0, id: page_10000.1 }.encode(), ..Default::default() }),
        ("captured + 30-day range", TransactionQuery { status: "captured".into(), from: day(200), to: day(171), ..Default::default() }),
    ];
    for (name, query) in cases {
        let filter = query.parse(account.time_zone).map_err(|(field, e)| anyhow::anyhow!("{field}: {e:?}"))?;
        let (rows, _) = transactions::list(db, &account, &filter, PAGE_SIZE).await.map_err(crate::server::app)?;
        anyhow::ensure!(rows.len() == PAGE_SIZE, "{name}: {} rows, expected a full page", rows.len());
        let ms = median_ms(20, || async { transactions::list(db, &account, &filter, PAGE_SIZE).await.map_err(crate::server::app) }).await?;
        report.push(Row::new(format!("{label}: Transactions {name}, {count} payments"), ms, "ms", Budget::AtMost(20.0)));
        let plan = transactions::plan(db, &account, &filter, PAGE_SIZE).await.map_err(crate::server::app)?;
        let indexed = plan_uses_indexes(&plan);
        report.push(Row::new(
            format!("{label}: Transactions {name}: EXPLAIN reads by index (1 = yes)"),
            if indexed { 1.0 } else { 0.0 },
            "",
            Budget::AtLeast(1.0),
        ));
        report.note(format!("{label} plan, {name}: {}", plan.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" / ")));
    }
    Ok(())
}

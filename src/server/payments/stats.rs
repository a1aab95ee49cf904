//! The link's counters (sharded), the 30-day chart, the Total Sales Summary
//! and `verify`, which recomputes them all from the payments table.

use super::*;

/// A link's usage count, as a column of a query over `links l`: its row's
/// count plus its counter shards' (see `count_capture`). A macro, so that
/// `links` can `concat!` it into its column list.
macro_rules! usage_count {
    () => {
        "(l.captured_count + (SELECT CAST(COALESCE(SUM(c.captured_count), 0) AS BIGINT) \
         FROM link_counters c WHERE c.link_id = l.id)) AS captured_count"
    };
}
pub(crate) use usage_count;
pub const USAGE_COUNT: &str = usage_count!();

/// Shards of a link's counters (see migration 0011): concurrent payments of
/// one link mostly update different rows.
pub const COUNTER_SHARDS: i64 = 16;

pub(super) fn shard_of(payment_id: i64) -> i64 {
    payment_id.rem_euclid(COUNTER_SHARDS)
}

/// Adds `amount` to link `link_id`'s sales of `day` (the chart), in payment `payment_id`'s shard.
pub(super) async fn add_daily(tx: &mut Tx, link_id: i64, payment_id: i64, day: i64, amount: i64) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO link_daily_shards (link_id, day, shard, amount) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (link_id, day, shard) DO UPDATE SET amount = link_daily_shards.amount + excluded.amount",
    )
    .bind(link_id)
    .bind(day)
    .bind(shard_of(payment_id))
    .bind(amount)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds `delta` to payment `payment_id`'s shard of link `link_id`'s counters.
pub(super) async fn add_stats(tx: &mut Tx, link_id: i64, payment_id: i64, delta: SalesStats) -> AppResult<()> {
    if delta == SalesStats::ZERO {
        return Ok(());
    }
    sqlx::query(&format!("INSERT INTO link_counters {COUNTER_COLUMNS} VALUES ($1, $2, 0, $3, $4, $5, $6) {ADD_COUNTERS}"))
        .bind(link_id)
        .bind(shard_of(payment_id))
        .bind(delta.captured_amount)
        .bind(delta.captured_payments)
        .bind(delta.pending_payments)
        .bind(delta.refunded_payments)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) const COUNTER_COLUMNS: &str =
    "(link_id, shard, captured_count, sales_captured_amount, sales_captured_payments, sales_pending_payments, sales_refunded_payments)";

pub(super) const ADD_COUNTERS: &str = "ON CONFLICT (link_id, shard) DO UPDATE SET captured_count = link_counters.captured_count + excluded.captured_count, \
     sales_captured_amount = link_counters.sales_captured_amount + excluded.sales_captured_amount, \
     sales_captured_payments = link_counters.sales_captured_payments + excluded.sales_captured_payments, \
     sales_pending_payments = link_counters.sales_pending_payments + excluded.sales_pending_payments, \
     sales_refunded_payments = link_counters.sales_refunded_payments + excluded.sales_refunded_payments";

/// A disagreement found by [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub link_id: i64,
    pub what: &'static str,
    pub stored: i64,
    pub recomputed: i64,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "link {}: {} is {} but the payments say {}", self.link_id, self.what, self.stored, self.recomputed)
    }
}

/// A link's figures recomputed from its payments rows, as the stored
/// statistics define them (columns `amount`, `captured`, `pending`,
/// `refunded`, `used`): for `verify`, and for the benchmark's naive summary
/// and its seeding of counter rows. Follow it with `FROM payments …`.
pub const FIGURES_OF_PAYMENTS: &str = "\
    CAST(COALESCE(SUM(CASE WHEN status = 'captured' THEN amount - refunded_amount ELSE 0 END), 0) AS BIGINT) AS amount, \
    CAST(COALESCE(SUM(CASE WHEN status = 'captured' THEN 1 ELSE 0 END), 0) AS BIGINT) AS captured, \
    CAST(COALESCE(SUM(CASE WHEN status IN ('pending', 'authorized', 'failed', 'expired', 'cancelled') THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
    CAST(COALESCE(SUM(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END), 0) AS BIGINT) AS refunded, \
    CAST(COALESCE(SUM(CASE WHEN captured_at IS NOT NULL AND unwanted IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS used, \
    CAST(COALESCE(SUM(CASE WHEN holds_unit <> 0 AND status IN ('pending', 'authorized') THEN 1 ELSE 0 END), 0) AS BIGINT) AS reserved";

/// A link's stored figures beside the ones recomputed from its payments.
#[derive(sqlx::FromRow)]
struct CheckedRow {
    id: i64,
    #[sqlx(flatten)]
    summary: SummaryColumns,
    captured_count: i64,
    reserved_count: i64,
    r_amount: i64,
    r_captured: i64,
    r_pending: i64,
    r_refunded: i64,
    r_used: i64,
    r_reserved: i64,
}

/// Recomputes every link's statistics and usage count from the payments
/// table and compares them with the stored figures; also checks that each
/// payment's last event names its current status.
pub async fn verify(db: &Db) -> AppResult<Vec<Mismatch>> {
    let rows = sqlx::query_as::<_, CheckedRow>(&format!(
        "SELECT l.id, s.sales_captured_amount, s.sales_captured_payments, s.sales_pending_payments, \
         s.sales_refunded_payments, {USAGE_COUNT}, \
         COALESCE(r.amount, 0) AS r_amount, COALESCE(r.captured, 0) AS r_captured, COALESCE(r.pending, 0) AS r_pending, \
         COALESCE(r.refunded, 0) AS r_refunded, COALESCE(r.used, 0) AS r_used, l.reserved_count, COALESCE(r.reserved, 0) AS r_reserved \
         FROM links l JOIN ({SALES_BY_LINK} GROUP BY l.id) s ON s.link_id = l.id LEFT JOIN (SELECT link_id, \
         {FIGURES_OF_PAYMENTS} FROM payments GROUP BY link_id) r ON r.link_id = l.id ORDER BY l.id",
    ))
    .fetch_all(db.pool())
    .await?;
    let mut mismatches = Vec::new();
    for row in rows {
        let link_id = row.id;
        let summary = SalesStats::from(row.summary);
        for (what, stored, recomputed) in [
            ("captured amount", summary.captured_amount, row.r_amount),
            ("captured payments", summary.captured_payments, row.r_captured),
            ("pending payments", summary.pending_payments, row.r_pending),
            ("refunded payments", summary.refunded_payments, row.r_refunded),
            ("usage count", row.captured_count, row.r_used),
            ("reserved units", row.reserved_count, row.r_reserved),
        ] {
            if stored != recomputed {
                mismatches.push(Mismatch { link_id, what, stored, recomputed });
            }
        }
    }
    let bad_history: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT p.link_id, p.id FROM payments p JOIN payment_events e ON e.id = \
         (SELECT MAX(id) FROM payment_events WHERE payment_id = p.id) WHERE e.to_status <> p.status",
    )
    .fetch_all(db.pool())
    .await?;
    for (link_id, payment_id) in bad_history {
        mismatches.push(Mismatch { link_id, what: "payment history", stored: payment_id, recomputed: 0 });
    }
    let mut days: std::collections::BTreeMap<(i64, i64), (i64, i64)> = Default::default();
    let stored: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT link_id, day, CAST(SUM(amount) AS BIGINT) FROM link_daily_shards GROUP BY link_id, day").fetch_all(db.pool()).await?;
    for (link_id, day, amount) in stored {
        days.entry((link_id, day)).or_default().0 = amount;
    }
    let recomputed: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT link_id, (captured_at + 32400000) / 86400000 AS day, CAST(SUM(amount - refunded_amount) AS BIGINT) \
         FROM payments WHERE captured_at IS NOT NULL AND status IN ('captured', 'refunded') \
         GROUP BY link_id, (captured_at + 32400000) / 86400000",
    )
    .fetch_all(db.pool())
    .await?;
    for (link_id, day, amount) in recomputed {
        days.entry((link_id, day)).or_default().1 = amount;
    }
    for ((link_id, _), (stored, recomputed)) in days {
        if stored != recomputed {
            mismatches.push(Mismatch { link_id, what: "daily sales", stored, recomputed });
        }
    }
    Ok(mismatches)
}

/// Every link's Total Sales Summary figures: the sums of its counter shards.
pub(super) const SALES_BY_LINK: &str = "SELECT l.id AS link_id, \
     CAST(COALESCE(SUM(c.sales_captured_amount), 0) AS BIGINT) AS sales_captured_amount, \
     CAST(COALESCE(SUM(c.sales_captured_payments), 0) AS BIGINT) AS sales_captured_payments, \
     CAST(COALESCE(SUM(c.sales_pending_payments), 0) AS BIGINT) AS sales_pending_payments, \
     CAST(COALESCE(SUM(c.sales_refunded_payments), 0) AS BIGINT) AS sales_refunded_payments \
     FROM links l LEFT JOIN link_counters c ON c.link_id = l.id";

/// The summary columns of [`SALES_BY_LINK`].
#[derive(sqlx::FromRow)]
struct SummaryColumns {
    sales_captured_amount: i64,
    sales_captured_payments: i64,
    sales_pending_payments: i64,
    sales_refunded_payments: i64,
}

impl From<SummaryColumns> for SalesStats {
    fn from(row: SummaryColumns) -> SalesStats {
        SalesStats {
            captured_amount: row.sales_captured_amount,
            captured_payments: row.sales_captured_payments,
            pending_payments: row.sales_pending_payments,
            refunded_payments: row.sales_refunded_payments,
        }
    }
}

/// The link's Total Sales Summary as stored: at most [`COUNTER_SHARDS`] rows
/// summed, however many payments it has.
pub async fn sales(db: &Db, link_id: i64) -> AppResult<SalesStats> {
    let row = sqlx::query_as::<_, SummaryColumns>(&format!("{SALES_BY_LINK} WHERE l.id = $1 GROUP BY l.id"))
        .bind(link_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(row.into())
}

/// How many of a link's payments are in each "started but not completed"
/// status, the summary's "pending payments" broken down (counted on demand,
/// when the merchant opens the breakdown).
pub async fn incomplete_by_status(db: &Db, link_id: i64) -> AppResult<Vec<(PaymentStatus, i64)>> {
    let wanted: Vec<PaymentStatus> = PaymentStatus::ALL.into_iter().filter(|s| s.is_incomplete()).collect();
    let placeholders: Vec<String> = (0..wanted.len()).map(|i| format!("${}", i + 2)).collect();
    let sql =
        format!("SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM payments WHERE link_id = $1 AND status IN ({}) GROUP BY status", placeholders.join(", "));
    let mut query = sqlx::query_as::<_, (String, i64)>(&sql).bind(link_id);
    for status in &wanted {
        query = query.bind(status.as_str());
    }
    let mut counts: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for (status, n) in query.fetch_all(db.pool()).await? {
        counts.insert(status, n);
    }
    Ok(wanted.into_iter().map(|s| (s, counts.get(s.as_str()).copied().unwrap_or(0))).collect())
}

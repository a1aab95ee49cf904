//! Group commit of finished attempts on PostgreSQL.
//!
//! Each payment written on its own is one statement and one commit: most of
//! the database's work for it is per statement (starting the plan, checking
//! the table's constraints, the commit's WAL flush), not per row. Under load
//! the attempts that arrive while earlier ones are being written wait here
//! and are written together, in one statement, by the next free writer. At
//! most [`WRITERS`] statements are in flight, so payments never hold more
//! than that many of the pool's connections; a lone payment is written at
//! once, by the single-payment statement, and waits for nobody.
//!
//! A customer is answered only after the commit that holds their payment,
//! as before. If a batch's statement fails, its payments are written one by
//! one, so one bad attempt cannot fail the others.

use super::{bind_first, write_at_once, AtOnce, FirstWrite, ADD_COUNTERS, COUNTER_COLUMNS, COUNTER_SHARDS, EVENT_COLUMNS, NEW_PAYMENT_COLUMNS, NO, YES};
use crate::error::{AppError, AppResult};
use crate::server::db::Db;
use sqlx::Row;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Statements in flight at once. Measured with pgbench on 2 cores: 4
/// statements of 4 to 8 payments each write ~1.5× the payments per second of
/// 16 single-payment statements; more writers only add contention.
const WRITERS: usize = 4;

/// The most payments in one statement (30 parameters each).
const MOST_AT_ONCE: usize = 32;

/// Payments waiting to be written, per database ([`Db::shared`]).
#[derive(Default)]
pub(super) struct Queue {
    state: Mutex<State>,
    batches: AtomicU64,
    batched_payments: AtomicU64,
}

#[derive(Default)]
struct State {
    waiting: Vec<Waiting>,
    /// Writer tasks running; each takes what waits until nothing does.
    writers: usize,
}

struct Waiting {
    first: FirstWrite,
    answer: oneshot::Sender<AppResult<AtOnce>>,
}

/// Writes `first` (alone or with others that wait) and answers what
/// [`write_at_once`] would have.
pub(super) async fn write(db: &Db, first: FirstWrite) -> AppResult<AtOnce> {
    let queue = db.shared::<Queue>();
    let (answer, answered) = oneshot::channel();
    let start_writer = {
        let mut state = queue.lock();
        state.waiting.push(Waiting { first, answer });
        let start = state.writers < WRITERS;
        if start {
            state.writers += 1;
        }
        start
    };
    if start_writer {
        // Its own task: a customer who hangs up does not stop the others' write.
        tokio::spawn(writer(db.clone(), queue));
    }
    answered.await.map_err(|_| AppError::Internal)?
}

/// How many statements wrote more than one payment, and those payments (since start).
pub fn written_together(db: &Db) -> (u64, u64) {
    let queue = db.shared::<Queue>();
    (queue.batches.load(Ordering::Relaxed), queue.batched_payments.load(Ordering::Relaxed))
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What waits, up to [`MOST_AT_ONCE`] payments with distinct tokens (a
    /// repeat stays for the next statement, which finds the first).
    fn take(&self, state: &mut State) -> Vec<Waiting> {
        let mut taken: Vec<Waiting> = Vec::new();
        let mut left = Vec::new();
        for waiting in state.waiting.drain(..) {
            if taken.len() < MOST_AT_ONCE && !taken.iter().any(|t| t.first.token == waiting.first.token) {
                taken.push(waiting);
            } else {
                left.push(waiting);
            }
        }
        state.waiting = left;
        taken
    }
}

/// Gives back its writer's place however the task ends (a panic included),
/// starting another if payments still wait.
struct Place {
    db: Db,
    queue: Arc<Queue>,
    given_back: bool,
}

impl Drop for Place {
    fn drop(&mut self) {
        if self.given_back {
            return;
        }
        // Outside a runtime (one being dropped) nothing can be spawned.
        let runtime = tokio::runtime::Handle::try_current().ok();
        let mut state = self.queue.lock();
        match runtime {
            Some(runtime) if !state.waiting.is_empty() => {
                // The place passes on to a new writer.
                drop(runtime.spawn(writer(self.db.clone(), self.queue.clone())));
            }
            _ => state.writers -= 1,
        }
    }
}

async fn writer(db: Db, queue: Arc<Queue>) {
    let mut place = Place { db: db.clone(), queue: queue.clone(), given_back: false };
    loop {
        let batch = {
            let mut state = queue.lock();
            let batch = queue.take(&mut state);
            if batch.is_empty() {
                // Under the lock: a payment queued after this sees a free place.
                state.writers -= 1;
                place.given_back = true;
                return;
            }
            batch
        };
        if batch.len() == 1 {
            let Waiting { first, answer } = batch.into_iter().next().expect("one");
            let _ = answer.send(write_at_once(&db, &first).await);
            continue;
        }
        let firsts: Vec<&FirstWrite> = batch.iter().map(|w| &w.first).collect();
        match write_together(&db, &firsts).await {
            Ok(outcomes) => {
                queue.batches.fetch_add(1, Ordering::Relaxed);
                queue.batched_payments.fetch_add(batch.len() as u64, Ordering::Relaxed);
                for (waiting, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = waiting.answer.send(Ok(outcome));
                }
            }
            Err(error) => {
                tracing::warn!(%error, payments = batch.len(), "writing payments together failed: writing them one by one");
                for Waiting { first, answer } in batch {
                    let _ = answer.send(write_at_once(&db, &first).await);
                }
            }
        }
    }
}

/// Columns of the statement's input rows, in [`bind_first`]'s order.
const INPUT_COLUMNS: &str = "(public_id, link_id, account_id, mode, token, method, status, amount, currency, locale, \
     customer_email, customer_name, card_brand, card_last4, card_expiry, konbini_store, deadline_at, created_at, \
     captured_at, failure_reason, konbini_number, kind, detail, day, day_amount, captured, captured_amount, \
     captured_payments, pending_payments, refunded_payments)";
const PARAMETERS_EACH: usize = 30;

/// [`write_at_once`] for several payments in one statement (one commit):
/// the same checks of each payment's link (share-locked, links in id order),
/// one row of counters and of the chart's day per link and shard (rows locked
/// in key order, so concurrent statements never wait for each other in a
/// circle). Outcomes in `firsts`' order; tokens must be distinct.
async fn write_together(db: &Db, firsts: &[&FirstWrite]) -> AppResult<Vec<AtOnce>> {
    let rows: Vec<String> = (0..firsts.len())
        .map(|r| {
            let numbers: Vec<String> = (1..=PARAMETERS_EACH).map(|i| format!("${}", r * PARAMETERS_EACH + i)).collect();
            format!("({})", numbers.join(", "))
        })
        .collect();
    let shards = COUNTER_SHARDS;
    let sql = format!(
        "WITH input {INPUT_COLUMNS} AS (VALUES {values}), \
         open AS (SELECT id, usage_limit IS NULL AS unlimited, expires_at FROM links \
                  WHERE id IN (SELECT link_id FROM input) AND status = 'active' ORDER BY id FOR SHARE), \
         takes AS (SELECT i.public_id, o.unlimited FROM input i JOIN open o ON o.id = i.link_id \
                   WHERE o.expires_at IS NULL OR o.expires_at > i.created_at), \
         p AS (INSERT INTO payments {NEW_PAYMENT_COLUMNS} \
               SELECT i.public_id, i.link_id, i.account_id, i.mode, i.token, i.method, i.status, i.amount, i.currency, \
               i.locale, i.customer_email, i.customer_name, i.card_brand, i.card_last4, i.card_expiry, i.konbini_store, \
               i.deadline_at, i.created_at, i.created_at, i.captured_at, i.failure_reason, i.konbini_number \
               FROM input i JOIN takes t ON t.public_id = i.public_id WHERE t.unlimited OR i.captured = 0 \
               ON CONFLICT (idempotency_token) DO NOTHING RETURNING id, public_id), \
         w AS (SELECT p.id, i.* FROM p JOIN input i ON i.public_id = p.public_id), \
         e AS (INSERT INTO payment_events {EVENT_COLUMNS} \
               SELECT w.id, v.kind, v.from_status, v.to_status, CAST(NULL AS BIGINT), v.detail, w.created_at FROM w, \
               LATERAL (VALUES (1, 'created', NULL, 'pending', w.method), (2, w.kind, 'pending', w.status, w.detail)) \
               AS v (n, kind, from_status, to_status, detail) ORDER BY w.id, v.n), \
         d AS (INSERT INTO link_daily_shards (link_id, day, shard, amount) \
               SELECT link_id, day, id % {shards}, CAST(SUM(day_amount) AS BIGINT) FROM w WHERE day_amount <> 0 \
               GROUP BY link_id, day, id % {shards} ORDER BY 1, 2, 3 \
               ON CONFLICT (link_id, day, shard) DO UPDATE SET amount = link_daily_shards.amount + excluded.amount), \
         c AS (INSERT INTO link_counters {COUNTER_COLUMNS} \
               SELECT link_id, id % {shards}, CAST(SUM(captured) AS BIGINT), CAST(SUM(captured_amount) AS BIGINT), \
               CAST(SUM(captured_payments) AS BIGINT), CAST(SUM(pending_payments) AS BIGINT), \
               CAST(SUM(refunded_payments) AS BIGINT) FROM w GROUP BY link_id, id % {shards} ORDER BY 1, 2 {ADD_COUNTERS}) \
         SELECT i.public_id, w.id, CASE WHEN t.public_id IS NOT NULL AND (t.unlimited OR i.captured = 0) THEN {YES} ELSE {NO} END, \
         CASE WHEN t.public_id IS NULL THEN {NO} ELSE {YES} END \
         FROM input i LEFT JOIN w ON w.public_id = i.public_id LEFT JOIN takes t ON t.public_id = i.public_id",
        values = rows.join(", "),
    );
    let mut query = sqlx::query(&sql);
    for first in firsts {
        query = bind_first(query, first);
    }
    let answered = query.fetch_all(db.pool()).await?;
    let mut outcomes = Vec::with_capacity(firsts.len());
    for first in firsts {
        let row = answered.iter().find(|row| row.try_get::<String, _>(0).is_ok_and(|id| id == first.payment.view.public_id)).ok_or(sqlx::Error::RowNotFound)?;
        outcomes.push(AtOnce::read(row, 1)?);
    }
    Ok(outcomes)
}

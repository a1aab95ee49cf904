//! New attempts: one per idempotency token, written with the connector's
//! answer when it comes at once (the test-mode simulator), in one commit.

use super::*;

/// Starts an attempt, or finds the one this token already started.
/// Returns the payment and whether this call created it.
pub async fn start(db: &Db, link: &CheckoutLink, attempt: &Attempt) -> AppResult<(Payment, bool)> {
    if let Some(existing) = by_token(db, &attempt.token).await? {
        return same_link(existing, link).map(|p| (p, false));
    }
    start_with(db, link, attempt, None).await
}

/// [`start`], with the connector's answer when it comes at once (the
/// test-mode simulator): the attempt is written in its final state, with both
/// events, in one commit. Nothing external happens in between, so nothing is
/// lost by not recording the pending state on its own. (A token already
/// used finds its payment through the insert's conflict; callers that
/// usually see repeats look it up first, as [`start`] does.)
pub async fn start_with(db: &Db, link: &CheckoutLink, attempt: &Attempt, outcome: Option<(Transition, Facts)>) -> AppResult<(Payment, bool)> {
    if !valid_token(&attempt.token) {
        return Err(AppError::BadRequest);
    }
    if link.availability != Availability::Active {
        return Err(AppError::Gone);
    }
    let mut outcome = outcome;
    let mut at_once_tried = false;
    loop {
        let now = now_ms();
        let pending = PaymentState::new(link.amount);
        let facts = outcome.as_ref().map(|(_, f)| f.clone()).unwrap_or_default();
        let transition = outcome.as_ref().map(|(t, _)| t.clone());
        let state = match &transition {
            Some(t) => pending.apply(t).map_err(|e| AppError::Conflict(e.to_string()))?,
            None => pending,
        };
        let mut payment = new_payment(link, attempt, &state, transition.as_ref(), &facts, now);
        let captured = state.status() == PaymentStatus::Captured;
        let enforce_link = !facts.provider_settled;
        // Those of its events the merchant's endpoints take.
        let events = match &transition {
            Some(t) => wanted_by(&EventType::of_transition(t, state.status()), link.subscribed.as_slice()),
            None => Vec::new(),
        };
        let delta = SalesStats::delta(None, &state);
        let day = crate::domain::transactions::sales_day(now);
        let detail = match &transition {
            Some(Transition::Fail { reason }) => Some(reason.as_str().to_owned()),
            _ => facts.note.clone(),
        };
        if let Some(t) = transition.as_ref().filter(|_| !at_once_tried && events.is_empty() && (!captured || (enforce_link && link.usage_limit.is_none()))) {
            at_once_tried = true;
            let first = FirstWrite { payment: payment.clone(), token: attempt.token.clone(), kind: t.kind(), detail: detail.clone(), delta, day, captured };
            let written = match db.backend() {
                // Written together with the payments of other customers that wait meanwhile.
                Backend::Postgres => group_commit::write(db, first).await?,
                // SQLite takes one writer at a time anyway.
                Backend::Sqlite => write_at_once(db, &first).await?,
            };
            match written {
                AtOnce::Written(id) => {
                    payment.id = id;
                    if captured {
                        captured_on(link.id);
                    }
                    return Ok((payment, true));
                }
                AtOnce::Repeat => return first_with_token(db, link, &attempt.token, AppError::Internal).await,
                // Closed since it was read (on another server): nothing was
                // written. A repeat still gets its first outcome.
                AtOnce::LinkClosed => return first_with_token(db, link, &attempt.token, AppError::Gone).await,
                // The statements below count it under the limit.
                AtOnce::LinkLimited => {}
            }
        }
        let mut tx = db.begin().await?;
        let inserted = bind_new_payment(
            sqlx::query(&format!(
                "INSERT INTO payments {NEW_PAYMENT_COLUMNS} VALUES {NEW_PAYMENT_VALUES} ON CONFLICT (idempotency_token) DO NOTHING RETURNING id"
            )),
            &payment,
            &attempt.token,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            // Another request with this token won the race; its outcome is ours.
            tx.rollback().await?;
            return first_with_token(db, link, &attempt.token, AppError::Internal).await;
        };
        let id: i64 = row.try_get(0)?;
        payment.id = id;
        match &transition {
            None => append_event(&mut tx, id, "created", None, PaymentStatus::Pending, None, Some(attempt.method.as_str()), now).await?,
            // Both events in one statement: the lock on the database is held for fewer round trips.
            Some(t) => {
                sqlx::query(&format!(
                    "INSERT INTO payment_events {EVENT_COLUMNS} VALUES ($1, 'created', NULL, 'pending', NULL, $2, $3), ($1, $4, 'pending', $5, NULL, $6, $3)"
                ))
                .bind(id)
                .bind(attempt.method.as_str())
                .bind(now)
                .bind(t.kind())
                .bind(state.status().as_str())
                .bind(detail)
                .execute(&mut *tx)
                .await?;
            }
        }
        if delta.captured_amount != 0 {
            add_daily(&mut tx, link.id, id, day, delta.captured_amount).await?;
        }
        if transition.is_none() && link.mode == crate::domain::Mode::Live && link.usage_limit.is_some() {
            if !reserve_unit(&mut tx, link.id, id, now).await? {
                tx.rollback().await?;
                return Err(if link_takes_payments(db, link.id, now).await? { AppError::AllReserved } else { AppError::Gone });
            }
            payment.holds_unit = true;
        }
        // The link's counters last: a capture of a link with a usage limit
        // holds the link's row until the commit.
        if captured {
            if !count_capture(&mut tx, link.id, id, delta, now, enforce_link, link.usage_limit.is_some(), true).await? {
                // The link stopped taking payments: the attempt fails instead.
                tx.rollback().await?;
                outcome = Some((Transition::Fail { reason: DeclineReason::LinkUnavailable }, facts));
                continue;
            }
        } else {
            add_stats(&mut tx, link.id, id, delta).await?;
        }
        let notify = outbox::wanted_payment_events(&mut tx, link.account_id, &payment.view, &events, now).await?;
        tx.commit().await?;
        if notify {
            crate::server::merchant_webhooks::wake();
        }
        if captured {
            captured_on(link.id);
        }
        return Ok((payment, true));
    }
}

/// The payment a new attempt writes (its `id` once the insert gives one):
/// what the caller gets back, without reading the row again.
pub(super) fn new_payment(link: &CheckoutLink, attempt: &Attempt, state: &PaymentState, transition: Option<&Transition>, facts: &Facts, now: i64) -> Payment {
    let status = state.status();
    Payment {
        id: 0,
        account_id: link.account_id,
        provider_ref: None,
        provider_session: None,
        provider_url: None,
        holds_unit: false,
        view: PaymentView {
            public_id: format!("pay_{}", random_token()),
            link_id: link.id,
            link_slug: link.slug.clone(),
            link_name: link.name.clone(),
            mode: link.mode,
            method: attempt.method,
            status,
            amount: link.amount,
            refunded_amount: 0,
            currency: link.currency,
            locale: attempt.locale,
            customer_email: attempt.customer_email.clone(),
            customer_name: attempt.customer_name.clone(),
            card: attempt.card.clone(),
            konbini_store: attempt.konbini_store,
            konbini_number: facts.konbini_number.clone(),
            failure_reason: match transition {
                Some(Transition::Fail { reason }) => Some(*reason),
                _ => None,
            },
            deadline_at: facts.deadline_at.unwrap_or(now + attempt.method.deadline_ms()),
            created_at: now,
            captured_at: (status == PaymentStatus::Captured).then_some(now),
            unwanted: None,
            auto_refund_due: false,
        },
    }
}

pub(super) const NEW_PAYMENT_COLUMNS: &str = "(public_id, link_id, account_id, mode, idempotency_token, method, status, amount, currency, \
     locale, customer_email, customer_name, card_brand, card_last4, card_expiry, konbini_store, deadline_at, \
     created_at, updated_at, captured_at, failure_reason, konbini_number)";

pub(super) const NEW_PAYMENT_VALUES: &str = "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20, $21)";

pub(super) const EVENT_COLUMNS: &str = "(payment_id, kind, from_status, to_status, amount, detail, created_at)";

/// Binds [`NEW_PAYMENT_VALUES`] ($1 to $21) for `payment`, started with `token`.
pub(super) fn bind_new_payment<'q>(query: AnyQuery<'q>, payment: &Payment, token: &str) -> AnyQuery<'q> {
    let view = &payment.view;
    query
        .bind(view.public_id.clone())
        .bind(view.link_id)
        .bind(payment.account_id)
        .bind(view.mode.as_str())
        .bind(token.to_owned())
        .bind(view.method.as_str())
        .bind(view.status.as_str())
        .bind(view.amount)
        .bind(view.currency.code())
        .bind(view.locale.code())
        .bind(view.customer_email.clone())
        .bind(view.customer_name.clone())
        .bind(view.card.as_ref().map(|c| c.brand.as_str().to_owned()))
        .bind(view.card.as_ref().map(|c| c.last4.clone()))
        .bind(view.card.as_ref().map(|c| c.expiry.clone()))
        .bind(view.konbini_store.map(|s| s.as_str().to_owned()))
        .bind(view.deadline_at)
        .bind(view.created_at)
        .bind(view.captured_at)
        .bind(view.failure_reason.map(|r| r.as_str().to_owned()))
        .bind(view.konbini_number.clone())
}

/// Binds `first`'s 30 values: [`NEW_PAYMENT_VALUES`], then the outcome's
/// event (kind, detail), the chart's day and amount, the usage count and the
/// counters' change ([`write_at_once`]'s $22 to $30).
pub(super) fn bind_first<'q>(query: AnyQuery<'q>, first: &FirstWrite) -> AnyQuery<'q> {
    let d = first.delta;
    bind_new_payment(query, &first.payment, &first.token)
        .bind(first.kind)
        .bind(first.detail.clone())
        .bind(first.day)
        .bind(d.captured_amount)
        .bind(i64::from(first.captured))
        .bind(d.captured_amount)
        .bind(d.captured_payments)
        .bind(d.pending_payments)
        .bind(d.refunded_payments)
}

pub(super) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The payment an earlier request with `token` started: a repeat gets its
/// outcome. `missing` is the answer when there is none.
pub(super) async fn first_with_token(db: &Db, link: &CheckoutLink, token: &str, missing: AppError) -> AppResult<(Payment, bool)> {
    let existing = by_token(db, token).await?.ok_or(missing)?;
    same_link(existing, link).map(|p| (p, false))
}

/// A finished attempt as [`write_at_once`] writes it: the payment, its
/// token, its outcome's event (after `created`), the counters' change and
/// the chart's day.
pub(super) struct FirstWrite {
    pub(super) payment: Payment,
    pub(super) token: String,
    pub(super) kind: &'static str,
    pub(super) detail: Option<String>,
    pub(super) delta: SalesStats,
    pub(super) day: i64,
    /// Whether the outcome is a capture (counted against a usage limit).
    pub(super) captured: bool,
}

pub(super) enum AtOnce {
    Written(i64),
    /// The token's payment already exists.
    Repeat,
    /// The link takes no payments now (inactive or expired).
    LinkClosed,
    /// A capture whose link has a usage limit now (set since it was read).
    LinkLimited,
}

/// A finished attempt (the simulator's), its two events, the chart's day and
/// the counters in one round trip: on PostgreSQL one statement (its own
/// transaction), on SQLite one batch of statements inside the write
/// transaction (which holds the database's write lock for three round trips
/// instead of six). It is written only while its link takes payments (a
/// capture: and has no usage limit), checked in the same transaction (on PostgreSQL
/// under a share lock: a deactivation waits for the commit, as in
/// `count_capture`); otherwise nothing is written. Not for attempts whose
/// events a merchant's endpoint takes (their outbox rows need the payment).
/// Parameters: [`NEW_PAYMENT_VALUES`] ($1 to $21), then $22 to $30 below.
pub(super) async fn write_at_once(db: &Db, first: &FirstWrite) -> AppResult<AtOnce> {
    let captured = first.captured;
    let takes_payments = link_open("$18");
    let open = if captured { format!("usage_limit IS NULL AND {takes_payments}") } else { takes_payments.clone() };
    let values = &NEW_PAYMENT_VALUES[1..NEW_PAYMENT_VALUES.len() - 1];
    let shards = COUNTER_SHARDS;
    let sql = match db.backend() {
        Backend::Postgres => format!(
            "WITH open AS (SELECT id FROM links WHERE id = $2 AND {open} FOR SHARE), \
             p AS (INSERT INTO payments {NEW_PAYMENT_COLUMNS} SELECT {values} FROM open \
                   ON CONFLICT (idempotency_token) DO NOTHING RETURNING id), \
             e AS (INSERT INTO payment_events {EVENT_COLUMNS} \
                   SELECT p.id, v.kind, v.from_status, v.to_status, CAST(NULL AS BIGINT), v.detail, $18 FROM p, \
                   (VALUES ('created', NULL, 'pending', $6), ($22, 'pending', $7, $23)) AS v (kind, from_status, to_status, detail)), \
             d AS (INSERT INTO link_daily_shards (link_id, day, shard, amount) SELECT $2, $24, p.id % {shards}, $25 FROM p WHERE $25 <> 0 \
                   ON CONFLICT (link_id, day, shard) DO UPDATE SET amount = link_daily_shards.amount + excluded.amount), \
             c AS (INSERT INTO link_counters {COUNTER_COLUMNS} SELECT $2, p.id % {shards}, $26, $27, $28, $29, $30 FROM p {ADD_COUNTERS}) \
             SELECT (SELECT id FROM p), CASE WHEN EXISTS (SELECT 1 FROM open) THEN {YES} ELSE {NO} END, \
             CASE WHEN EXISTS (SELECT 1 FROM links WHERE id = $2 AND {takes_payments}) THEN {YES} ELSE {NO} END"
        ),
        // The payment's fresh public id ($1) finds its row in the later
        // statements; a repeated token inserts none, and so nothing else.
        Backend::Sqlite => format!(
            "INSERT INTO payments {NEW_PAYMENT_COLUMNS} SELECT {values} WHERE EXISTS (SELECT 1 FROM links WHERE id = $2 AND {open}) \
             ON CONFLICT (idempotency_token) DO NOTHING; \
             INSERT INTO payment_events {EVENT_COLUMNS} \
             SELECT id, 'created', NULL, 'pending', NULL, $6, $18 FROM payments WHERE public_id = $1 \
             UNION ALL SELECT id, $22, 'pending', $7, NULL, $23, $18 FROM payments WHERE public_id = $1; \
             INSERT INTO link_daily_shards (link_id, day, shard, amount) SELECT $2, $24, id % {shards}, $25 FROM payments \
             WHERE public_id = $1 AND $25 <> 0 \
             ON CONFLICT (link_id, day, shard) DO UPDATE SET amount = link_daily_shards.amount + excluded.amount; \
             INSERT INTO link_counters {COUNTER_COLUMNS} SELECT $2, id % {shards}, $26, $27, $28, $29, $30 FROM payments \
             WHERE public_id = $1 {ADD_COUNTERS}; \
             SELECT (SELECT id FROM payments WHERE public_id = $1), \
             CASE WHEN EXISTS (SELECT 1 FROM links WHERE id = $2 AND {open}) THEN {YES} ELSE {NO} END, \
             CASE WHEN EXISTS (SELECT 1 FROM links WHERE id = $2 AND {takes_payments}) THEN {YES} ELSE {NO} END"
        ),
    };
    let query = bind_first(sqlx::query(&sql), first);
    let row = match db.backend() {
        Backend::Postgres => query.fetch_one(db.pool()).await?,
        Backend::Sqlite => {
            let mut tx = db.begin().await?;
            // Every statement's results: a fetch of one row stops at the first statement.
            let row = query.fetch_all(&mut *tx).await?.pop().ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            row
        }
    };
    AtOnce::read(&row, 0)
}

// Truth values both backends hand back alike (through `Any`).

pub(super) const YES: &str = "CAST(1 AS BIGINT)";

pub(super) const NO: &str = "CAST(0 AS BIGINT)";

impl AtOnce {
    /// The outcome from a row's columns `at..at + 3`: the new payment's id
    /// (none if nothing was written), whether the link took this attempt
    /// ([`YES`]/[`NO`]), whether it takes payments at all.
    pub(super) fn read(row: &sqlx::any::AnyRow, at: usize) -> AppResult<AtOnce> {
        let flag = |i: usize| row.try_get::<i64, _>(at + i).map(|v| v == 1);
        Ok(match (row.try_get::<Option<i64>, _>(at)?, flag(1)?, flag(2)?) {
            (Some(id), _, _) => AtOnce::Written(id),
            (None, true, _) => AtOnce::Repeat,
            (None, false, false) => AtOnce::LinkClosed,
            (None, false, true) => AtOnce::LinkLimited,
        })
    }
}

pub(super) fn same_link(payment: Payment, link: &CheckoutLink) -> AppResult<Payment> {
    if payment.view.link_id == link.id {
        Ok(payment)
    } else {
        Err(AppError::BadRequest)
    }
}

/// Reserves one of link `link_id`'s units for live attempt `payment_id`
/// while its KOMOJU session is open: the capture KOMOJU settles later is not
/// ours to refuse, so the limit is held here, when the session is made.
/// `false`, with nothing written, when the link takes no payment now or
/// every unit it has left is captured or reserved. One guarded statement on
/// the link's row (where a limited link keeps its whole count): concurrent
/// starts take turns, so N units take at most N reservations.
pub(super) async fn reserve_unit(tx: &mut Tx, link_id: i64, payment_id: i64, now: i64) -> AppResult<bool> {
    let sql = format!(
        "UPDATE links SET reserved_count = reserved_count + 1 \
         WHERE id = $1 AND usage_limit IS NOT NULL AND captured_count + reserved_count < usage_limit AND {}",
        link_open("$2")
    );
    let reserved = sqlx::query(&sql).bind(link_id).bind(now).execute(&mut **tx).await?;
    if reserved.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE payments SET holds_unit = 1 WHERE id = $1").bind(payment_id).execute(&mut **tx).await?;
    Ok(true)
}

/// Whether link `id` takes payments at `now`, its limit aside (telling "all
/// reserved" from "closed").
pub(super) async fn link_takes_payments(db: &Db, id: i64, now: i64) -> AppResult<bool> {
    let sql = format!("SELECT 1 FROM links WHERE id = $1 AND {} AND captured_count < COALESCE(usage_limit, captured_count + 1)", link_open("$2"));
    let row = sqlx::query(&sql).bind(id).bind(now).fetch_optional(db.pool()).await?;
    Ok(row.is_some())
}

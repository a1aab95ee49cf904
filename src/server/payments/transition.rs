//! Moving a payment: a compare-and-set on its state, the link's counters and
//! the event in one transaction; expiry of attempts past their deadline.

use super::*;

/// Moves payment `id` by `transition`. A capture refused because the link no
/// longer takes payments turns into a failure with `LinkUnavailable`.
pub async fn transition(db: &Db, id: i64, transition: Transition, facts: Facts) -> AppResult<Payment> {
    let mut transition = transition;
    // Compare-and-set: if another request moved the payment between our read
    // and our write, read again and re-decide.
    for _ in 0..8 {
        let current = by_id(db, id).await?;
        let before = current.state()?;
        let mut tx = db.begin().await?;
        match apply(&mut tx, &current, &before, &transition, &facts, now_ms()).await? {
            Applied::Done { notify } => {
                tx.commit().await?;
                if notify {
                    crate::server::merchant_webhooks::wake();
                }
                if matches!(transition, Transition::Capture | Transition::LateCapture) {
                    // The usage count moved: a page may now have to say "sold out".
                    captured_on(current.view.link_id);
                }
                return by_id(db, id).await;
            }
            Applied::Moved => tx.rollback().await?,
            Applied::LinkRefused => {
                tx.rollback().await?;
                transition = Transition::Fail { reason: DeclineReason::LinkUnavailable };
            }
        }
    }
    Err(AppError::Conflict("payment is changing concurrently".into()))
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Applied {
    /// Committable; `notify`: webhook events were written.
    Done { notify: bool },
    /// The payment is no longer in state `before`: roll back, read again.
    Moved,
    /// A capture the link no longer takes (limit reached, inactive, expired);
    /// nothing was written.
    LinkRefused,
}

/// One transition inside `tx`, from the state the caller read (`before`):
/// the statistics, the compare-and-set update of the payment, its event and
/// the merchant's webhook events.
pub(super) async fn apply(tx: &mut Tx, current: &Payment, before: &PaymentState, transition: &Transition, facts: &Facts, now: i64) -> AppResult<Applied> {
    let (id, link_id) = (current.id, current.view.link_id);
    let after = before.apply(transition).map_err(|e| AppError::Conflict(e.to_string()))?;
    let delta = SalesStats::delta(Some(before), &after);
    let capture = matches!(transition, Transition::Capture | Transition::LateCapture);
    // Live money the link would not have taken: recorded (it uses no unit), then refunded.
    // (A unit is held only while the attempt is open: an ended one gave it back.)
    let holds_unit = current.holds_unit && before.status().is_open();
    let unwanted = if capture && facts.provider_settled { unwanted_capture(tx, link_id, holds_unit, now).await? } else { None };
    // The link's counters first: a refused capture has then written nothing.
    if capture {
        if !count_capture(tx, link_id, id, delta, now, !facts.provider_settled, false, unwanted.is_none()).await? {
            return Ok(Applied::LinkRefused);
        }
    } else {
        add_stats(tx, link_id, id, delta).await?;
    }
    // The attempt's reserved unit comes back once it ends (a capture used it).
    if holds_unit && !after.status().is_open() {
        sqlx::query("UPDATE links SET reserved_count = reserved_count - 1 WHERE id = $1").bind(link_id).execute(&mut **tx).await?;
    }

    let reason = match transition {
        Transition::Fail { reason } => Some(reason.as_str().to_owned()),
        _ => None,
    };
    let moved: Option<Option<i64>> = sqlx::query_scalar(
        "UPDATE payments SET status = $1, refunded_amount = $2, updated_at = $3, \
         captured_at = CASE WHEN $4 THEN $3 ELSE captured_at END, \
         failure_reason = COALESCE($5, failure_reason), konbini_number = COALESCE($6, konbini_number), \
         deadline_at = COALESCE($7, deadline_at), provider_ref = COALESCE($8, provider_ref), \
         unwanted = COALESCE($12, unwanted), auto_refund_next_at = COALESCE($13, auto_refund_next_at) \
         WHERE id = $9 AND status = $10 AND refunded_amount = $11 RETURNING captured_at",
    )
    .bind(after.status().as_str())
    .bind(after.refunded())
    .bind(now)
    .bind(after.status() == PaymentStatus::Captured && before.status() != PaymentStatus::Captured)
    .bind(reason.clone())
    .bind(facts.konbini_number.clone())
    .bind(facts.deadline_at)
    .bind(facts.provider_ref.clone())
    .bind(id)
    .bind(before.status().as_str())
    .bind(before.refunded())
    .bind(unwanted.map(|u| u.as_str().to_owned()))
    .bind(unwanted.map(|_| now))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(captured_at) = moved else {
        return Ok(Applied::Moved);
    };
    // The chart: money moved on the day the payment was captured.
    if delta.captured_amount != 0 {
        add_daily(tx, link_id, id, crate::domain::transactions::sales_day(captured_at.unwrap_or(now)), delta.captured_amount).await?;
    }
    let amount = match transition {
        Transition::Refund { amount } => Some(*amount),
        _ => None,
    };
    let detail = reason.or_else(|| facts.note.clone());
    append_event(tx, id, transition.kind(), Some(before.status()), after.status(), amount, detail.as_deref(), now).await?;
    if let Some(unwanted) = unwanted {
        append_event(tx, id, "auto_refund_due", Some(after.status()), after.status(), None, Some(unwanted.as_str()), now).await?;
    }
    let events = EventType::of_transition(transition, after.status());
    // The payment as the update above left it, for the events' payloads.
    let view = PaymentView {
        status: after.status(),
        refunded_amount: after.refunded(),
        captured_at,
        failure_reason: match transition {
            Transition::Fail { reason } => Some(*reason),
            _ => current.view.failure_reason,
        },
        konbini_number: facts.konbini_number.clone().or_else(|| current.view.konbini_number.clone()),
        deadline_at: facts.deadline_at.unwrap_or(current.view.deadline_at),
        unwanted: unwanted.or(current.view.unwanted),
        auto_refund_due: unwanted.is_some() || current.view.auto_refund_due,
        ..current.view.clone()
    };
    let notify = outbox::payment_events(tx, current.account_id, &view, &events, now).await?;
    Ok(Applied::Done { notify })
}

/// Counts capture `payment_id` on its link (usage count and `delta`) if the
/// link still takes payments (`enforce_link`); `false`, with nothing written,
/// when it does not.
///
/// A link without a usage limit is read under a shared lock (a deactivation
/// waits for this capture's commit; a capture after it sees it) and counted
/// in the payment's shard, so its captures do not queue for one row. A link
/// with a limit is counted on its own row in one guarded statement: its
/// captures take turns, which is what holding the limit takes. Setting a
/// limit moves the shards' counts onto the row (`links::update`), so for a
/// limited link that row holds the whole count. `limited`: whether the
/// caller saw a limit (the statement to try first; the other follows if the
/// limit changed meanwhile).
#[allow(clippy::too_many_arguments)]
pub(super) async fn count_capture(
    tx: &mut Tx,
    link_id: i64,
    payment_id: i64,
    delta: SalesStats,
    now: i64,
    enforce_link: bool,
    limited: bool,
    uses_unit: bool,
) -> AppResult<bool> {
    // An unwanted capture (refunded automatically) takes no unit of the limit.
    let uses = i64::from(uses_unit);
    // `now` is bound last, as `$n`, only when the link's state is enforced.
    let takes_payments = |n: u8| if enforce_link { format!("AND {}", link_open(&format!("${n}"))) } else { String::new() };
    for on_link_row in if limited { [true, false] } else { [false, true] } {
        let query = if on_link_row {
            let limit = if enforce_link { "AND captured_count < usage_limit" } else { "" };
            format!("UPDATE links SET captured_count = captured_count + {uses} WHERE id = $1 AND usage_limit IS NOT NULL {limit} {}", takes_payments(2))
        } else {
            format!(
                "INSERT INTO link_counters {COUNTER_COLUMNS} SELECT id, $2, {uses}, $3, $4, $5, $6 FROM links \
                 WHERE id = $1 AND usage_limit IS NULL {}{} {ADD_COUNTERS}",
                takes_payments(7),
                tx.lock(RowLock::Share)
            )
        };
        let mut statement = sqlx::query(&query).bind(link_id);
        if !on_link_row {
            statement = statement
                .bind(shard_of(payment_id))
                .bind(delta.captured_amount)
                .bind(delta.captured_payments)
                .bind(delta.pending_payments)
                .bind(delta.refunded_payments);
        }
        let statement = if enforce_link { statement.bind(now) } else { statement };
        if statement.execute(&mut **tx).await?.rows_affected() == 1 {
            if on_link_row {
                add_stats(tx, link_id, payment_id, delta).await?;
            }
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether link `link_id` would refuse a capture the provider settled (live
/// money, paid through a session opened earlier), read under the link's row
/// lock until the commit. An attempt that holds a reserved unit takes it;
/// one that holds none comes after every unit reserved by others.
pub(super) async fn unwanted_capture(tx: &mut Tx, link_id: i64, holds_unit: bool, now: i64) -> AppResult<Option<UnwantedCapture>> {
    let row = sqlx::query_as::<_, CaptureLimits>(&format!(
        "SELECT status, expires_at, usage_limit, captured_count, reserved_count FROM links WHERE id = $1{}",
        tx.lock(RowLock::Update)
    ))
    .bind(link_id)
    .fetch_one(&mut **tx)
    .await?;
    // A limited link's row holds its whole count; without a limit the count decides nothing.
    let captured = match row.usage_limit {
        Some(_) => row.captured_count + 1 + if holds_unit { 0 } else { row.reserved_count },
        None => 1,
    };
    Ok(UnwantedCapture::judge(row.status, row.expires_at, row.usage_limit, captured, now))
}

/// What decides whether a link still takes a capture.
#[derive(sqlx::FromRow)]
struct CaptureLimits {
    #[sqlx(try_from = "String")]
    status: crate::domain::link::LinkStatus,
    expires_at: Option<i64>,
    usage_limit: Option<i64>,
    captured_count: i64,
    reserved_count: i64,
}

/// Ends open attempts whose deadline passed. Safe on several servers at once:
/// each expiry is a compare-and-set, so a payment expires exactly once.
pub async fn expire_due(db: &Db, now: i64) -> AppResult<usize> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM payments WHERE status IN ('pending', 'authorized') AND deadline_at <= $1 AND method <> 'komoju' \
         ORDER BY deadline_at LIMIT 500",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut expired = 0;
    for id in ids {
        match transition(db, id, Transition::Expire, Facts::default()).await {
            Ok(_) => expired += 1,
            // Paid or expired meanwhile (another server, a webhook): nothing to do.
            Err(AppError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}

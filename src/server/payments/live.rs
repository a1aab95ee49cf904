//! Live payments after KOMOJU's news: stale attempts ended at their session's
//! lifetime, and unwanted captures refunded automatically (with retries).

use super::*;
use crate::domain::provider::{catch_up, DisputeNews, ProviderPayment, SyncError};
use crate::server::komoju::{Komoju, Session};

/// Live attempts still waiting for the customer past their deadline (their
/// KOMOJU session's lifetime), oldest first: [`end_stale`]
/// asks KOMOJU about each, then ends it.
pub async fn live_attempts_due(db: &Db, now: i64, limit: i64) -> AppResult<Vec<i64>> {
    ids_due(db, "SELECT id FROM payments WHERE method = 'komoju' AND status = 'pending' AND deadline_at <= $1 ORDER BY deadline_at LIMIT $2", now, limit).await
}

/// Unwanted captures whose automatic refund is due.
pub async fn auto_refunds_due(db: &Db, now: i64, limit: i64) -> AppResult<Vec<i64>> {
    ids_due(db, "SELECT id FROM payments WHERE auto_refund_next_at <= $1 ORDER BY auto_refund_next_at LIMIT $2", now, limit).await
}

/// The payment ids `select` ($1: now, $2: how many) finds.
pub(super) async fn ids_due(db: &Db, select: &str, now: i64, limit: i64) -> AppResult<Vec<i64>> {
    Ok(sqlx::query_scalar(select).bind(now).bind(limit).fetch_all(db.pool()).await?)
}

/// Automatic refunds are tried this many times (backing off up to six
/// hours, about a day and a half in all) before the merchant is left to act.
pub const AUTO_REFUND_TRIES: i64 = 12;

/// Payment `id`'s automatic refund is over: done (`failure` = `None`), or
/// given up with KOMOJU's reason, recorded in its history for the merchant.
pub async fn auto_refund_over(db: &Db, id: i64, failure: Option<&str>) -> AppResult<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let status: Option<String> =
        sqlx::query_scalar("UPDATE payments SET auto_refund_next_at = NULL WHERE id = $1 AND auto_refund_next_at IS NOT NULL RETURNING status")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if let (Some(status), Some(failure)) = (status, failure) {
        let status = PaymentStatus::try_from(status).map_err(anyhow::Error::from)?;
        append_event(&mut tx, id, "auto_refund_failed", Some(status), status, None, Some(failure), now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Payment `id`'s automatic refund could not reach KOMOJU: tried again
/// later (1, 2, 4 … minutes, at most six hours apart), then given up.
pub async fn auto_refund_later(db: &Db, id: i64) -> AppResult<()> {
    let now = now_ms();
    let Some(tries) = sqlx::query_scalar::<_, i64>("SELECT auto_refund_tries FROM payments WHERE id = $1 AND auto_refund_next_at IS NOT NULL")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(());
    };
    let tries = tries + 1;
    if tries >= AUTO_REFUND_TRIES {
        return auto_refund_over(db, id, Some("KOMOJU could not be reached")).await;
    }
    let wait_ms = (60_000i64 << (tries - 1).min(20)).min(6 * 60 * 60 * 1000);
    sqlx::query("UPDATE payments SET auto_refund_tries = $1, auto_refund_next_at = $2 WHERE id = $3 AND auto_refund_next_at IS NOT NULL")
        .bind(tries)
        .bind(now + wait_ms)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Brings `payment` in line with what KOMOJU reports. Safe to call again
/// with the same news (return page + webhook + retries).
pub async fn follow(db: &Db, payment: &Payment, theirs: &ProviderPayment, note: &str) -> AppResult<Payment> {
    let ours = payment.state()?;
    let steps = match catch_up(&ours, payment.view.currency.code(), theirs) {
        Ok(steps) => steps,
        Err(e @ (SyncError::AmountMismatch { .. } | SyncError::Diverged { .. })) => {
            tracing::error!(payment = %payment.view.public_id, provider_payment = %theirs.id, error = %e, "KOMOJU and Paylinks disagree");
            return Err(AppError::Conflict(e.to_string()));
        }
    };
    let mut current = payment.clone();
    for step in steps {
        let (moved, first) = take_step(db, current.id, step, &theirs.id, note).await?;
        current = moved;
        if !first {
            // The next piece of news starts from the state someone else made.
            break;
        }
    }
    Ok(current)
}

/// One step KOMOJU reported on payment `id`; `false` with the payment as it
/// is now when someone else (a concurrent webhook, the return page) took a
/// step first.
async fn take_step(db: &Db, id: i64, step: Transition, provider_payment: &str, note: &str) -> AppResult<(Payment, bool)> {
    let facts = Facts { provider_ref: Some(provider_payment.to_owned()), provider_settled: true, note: Some(note.to_owned()), ..Facts::default() };
    match transition(db, id, step, facts).await {
        Ok(moved) => Ok((moved, true)),
        Err(AppError::Conflict(_)) => Ok((by_id(db, id).await?, false)),
        Err(e) => Err(e),
    }
}

/// Gives back an unwanted capture (the link was inactive, expired or out of
/// units when KOMOJU settled it) in full, once: the idempotency key is the
/// payment's, so a retry after a lost answer is the same refund. KOMOJU
/// refusing (e.g. a konbini payment needs the customer's bank account) or
/// staying unreachable leaves it to the merchant, said in its history.
pub async fn refund_unwanted(komoju: &Komoju, db: &Db, id: i64) -> AppResult<Payment> {
    let payment = by_id(db, id).await?;
    let (Some(unwanted), true) = (payment.view.unwanted, payment.view.auto_refund_due) else {
        return Ok(payment);
    };
    // `payment` (or what KOMOJU's answer made of it) once the refund is over.
    let over = |mut payment: Payment| {
        payment.view.auto_refund_due = false;
        payment
    };
    let remaining = payment.view.amount - payment.view.refunded_amount;
    let provider_payment = payment.provider_ref.clone();
    let (Some(provider_payment), true) = (provider_payment, payment.view.status == crate::domain::payment::PaymentStatus::Captured && remaining > 0) else {
        // Refunded meanwhile (by the merchant, or KOMOJU told us), or charged back.
        auto_refund_over(db, id, None).await?;
        return Ok(over(payment));
    };
    let Some(credentials) = komoju.credentials(db, payment.account_id).await? else {
        auto_refund_over(db, id, Some("KOMOJU is no longer connected")).await?;
        return Ok(over(payment));
    };
    let reason = format!("Paylinks: {}", unwanted.as_str().replace('_', " "));
    let key = format!("paylinks-auto-refund-{}", payment.view.public_id);
    match komoju.refund(&credentials.secret_key, &provider_payment, remaining, Some(&reason), &key).await {
        Ok(theirs) => {
            let followed = follow(db, &payment, &theirs, &format!("automatic refund ({})", unwanted.as_str())).await?;
            auto_refund_over(db, id, None).await?;
            tracing::info!(payment = %payment.view.public_id, reason = unwanted.as_str(), "unwanted live capture refunded");
            Ok(over(followed))
        }
        Err(AppError::ProviderRefused { message }) => {
            tracing::warn!(payment = %payment.view.public_id, %message, "KOMOJU refused an automatic refund; the merchant has to act");
            auto_refund_over(db, id, Some(&message)).await?;
            Ok(over(payment))
        }
        Err(e) => {
            tracing::warn!(payment = %payment.view.public_id, error = %e, "automatic refund failed; trying again later");
            auto_refund_later(db, id).await?;
            Err(e)
        }
    }
}

/// After news about `payment`: an unwanted capture is refunded at once, in
/// the background (the caller answers KOMOJU or the customer meanwhile);
/// the periodic job retries what this does not finish.
pub fn refund_if_unwanted(komoju: &Komoju, db: &Db, payment: &Payment) {
    if payment.view.unwanted.is_some() && payment.view.auto_refund_due {
        let (komoju, db, id) = (komoju.clone(), db.clone(), payment.id);
        tokio::spawn(async move {
            let _ = refund_unwanted(&komoju, &db, id).await;
        });
    }
}

/// How long past its deadline a live attempt waits for KOMOJU to answer
/// before it is ended anyway (a capture after that is still recorded).
pub const STALE_GRACE_MS: i64 = 60 * 60 * 1000;

/// Ends live attempt `id` once its KOMOJU session's lifetime has passed, so
/// its reserved unit comes back: KOMOJU is asked first (the customer may
/// have paid at the last minute); with no answer the attempt waits up to
/// [`STALE_GRACE_MS`], then expires. Money KOMOJU reports later is still
/// recorded (a late capture) and, if the unit went to someone else, refunded.
pub async fn end_stale(komoju: &Komoju, db: &Db, id: i64, now: i64) -> AppResult<Payment> {
    let payment = by_id(db, id).await?;
    if payment.view.status != crate::domain::payment::PaymentStatus::Pending || payment.view.deadline_at > now {
        return Ok(payment);
    }
    let credentials = match &payment.provider_session {
        Some(session_id) => komoju.credentials(db, payment.account_id).await?.map(|c| (session_id.clone(), c)),
        None => None,
    };
    if let Some((session_id, credentials)) = credentials {
        match komoju.session(&credentials.secret_key, &session_id).await {
            Ok(Session { payment: Some(theirs), .. }) => {
                let followed = follow(db, &payment, &theirs, "KOMOJU session ended").await?;
                refund_if_unwanted(komoju, db, &followed);
                if followed.view.status != crate::domain::payment::PaymentStatus::Pending {
                    return Ok(followed);
                }
            }
            Ok(session) if session.status == "cancelled" => {
                let facts = Facts { provider_settled: true, note: Some("KOMOJU session cancelled".into()), ..Facts::default() };
                return transition(db, id, crate::domain::payment::Transition::Cancel, facts).await;
            }
            Ok(_) => {}
            Err(e) if now < payment.view.deadline_at + STALE_GRACE_MS => return Err(e),
            Err(e) => tracing::warn!(payment = %payment.view.public_id, error = %e, "KOMOJU unreachable past the grace period; ending the attempt"),
        }
    }
    let facts = Facts { note: Some("KOMOJU session lifetime passed".into()), ..Facts::default() };
    transition(db, id, crate::domain::payment::Transition::Expire, facts).await
}

/// One round of [`crate::server::jobs::spawn_live_job`] (tests call it directly).
pub async fn live_tick(komoju: &Komoju, db: &Db, now: i64) {
    match live_attempts_due(db, now, 100).await {
        Ok(ids) => {
            for id in ids {
                match end_stale(komoju, db, id, now).await {
                    Ok(_) | Err(AppError::Conflict(_)) => {}
                    Err(e) => tracing::debug!(id, error = %e, "stale live attempt not ended yet"),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not list stale live attempts; retrying next tick"),
    }
    match auto_refunds_due(db, now, 50).await {
        Ok(ids) => {
            for id in ids {
                let _ = refund_unwanted(komoju, db, id).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not list due automatic refunds; retrying next tick"),
    }
}

/// Records KOMOJU's dispute news on `payment`: a charge-back takes the money
/// out of the captured figures. Safe to call again with the same news.
pub async fn follow_dispute(db: &Db, payment: &Payment, theirs: &ProviderPayment, news: DisputeNews, note: &str) -> AppResult<Payment> {
    let ours = payment.state()?;
    match news.step(&ours, payment.view.currency.code(), theirs) {
        Ok(None) => Ok(payment.clone()),
        Ok(Some(step)) => Ok(take_step(db, payment.id, step, &theirs.id, note).await?.0),
        Err(e) => {
            tracing::error!(payment = %payment.view.public_id, provider_payment = %theirs.id, ?news, error = %e, "KOMOJU dispute news needs a person");
            Err(AppError::Conflict(e.to_string()))
        }
    }
}

//! The periodic background jobs every app server runs (each is safe on
//! several servers at once).

use super::db::{now_ms, Db};
use super::komoju::Komoju;
use std::time::Duration;

/// Runs [`expire_due`] every `every` until the process ends, and forgets
/// API idempotency answers past their 24 hours, webhook events past 30 days
/// and emails past 90.
pub fn spawn_expiry_job(db: Db, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match super::payments::expire_due(&db, now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "expired unfinished payment attempts"),
                Err(e) => tracing::warn!(error = %e, "expiry job failed; retrying next tick"),
            }
            if let Err(e) = super::api::purge_idempotency_keys(&db, now_ms()).await {
                tracing::warn!(error = %e, "could not purge old idempotency keys; retrying next tick");
            }
            if let Err(e) = super::merchant_webhooks::purge(&db, now_ms()).await {
                tracing::warn!(error = %e, "could not purge old webhook events; retrying next tick");
            }
            if let Err(e) = super::email::purge(&db, now_ms()).await {
                tracing::warn!(error = %e, "could not purge old emails; retrying next tick");
            }
            if let Err(e) = super::auth::purge_sessions(&db, now_ms()).await {
                tracing::warn!(error = %e, "could not purge ended sessions; retrying next tick");
            }
            if let Err(e) = super::throttle::purge(&db).await {
                tracing::warn!(error = %e, "could not purge old attempt counters; retrying next tick");
            }
        }
    });
}

/// Every `every`: ends stale live attempts and retries due automatic refunds.
/// Safe on several servers at once (compare-and-set transitions, KOMOJU's
/// idempotency keys).
pub fn spawn_live_job(komoju: Komoju, db: Db, every: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            super::payments::live_tick(&komoju, &db, now_ms()).await;
        }
    });
}

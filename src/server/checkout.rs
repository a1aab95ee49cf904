//! A customer's payment, from the posted form to the connector's answer.
//!
//! Test-mode links go to the built-in simulator (KOMOJU's documented test
//! cards, konbini, a PayPay-style approval page); no real money ever moves.

use super::checkout_link_cache::{self, CheckoutLink};
use super::db::{now_ms, Db};
use super::ids;
use super::payments::{self, Attempt, Facts, Payment};
use super::AppState;
use crate::domain::card::simulate;
use crate::domain::checkout::{PayForm, PayRequest};
use crate::domain::link::format_local_datetime;
use crate::domain::payment::{Method, PaymentStatus, Transition};
use crate::domain::{Locale, Mode};
use crate::error::{AppError, AppResult};

/// The current (year, month) in UTC, for card expiry checks.
pub fn this_month() -> (u16, u8) {
    let today = format_local_datetime(now_ms(), 0);
    let year = today[..4].parse().unwrap_or(2026);
    let month = today[5..7].parse().unwrap_or(1);
    (year, month)
}

/// Takes the customer's payment. A repeated token returns the first
/// submission's payment, whatever this submission says. A live payment comes
/// back pending with the KOMOJU page to send the customer to.
pub async fn pay(state: &AppState, form: &PayForm) -> AppResult<Payment> {
    let db = &state.db;
    // The link as read at most a second ago: the payment's write checks it again.
    let link = checkout_link_cache::checkout_link_cached(db, &form.slug).await?;
    if !ids::valid_token(&form.token) {
        return Err(AppError::BadRequest);
    }
    // A test payment's insert finds a repeat itself (by its token's conflict),
    // so the first submission is looked up only when this one cannot start
    // a payment. A live repeat must reuse KOMOJU's session: looked up first.
    let looked_up = link.mode == Mode::Live || link.availability != crate::domain::link::Availability::Active;
    if looked_up {
        if let Some(first) = first_submission(state, &link, &form.token).await? {
            return Ok(first);
        }
    }
    let request = match accepted(state, &link, form).await {
        Ok(request) => request,
        Err(refused) if !looked_up => return first_submission(state, &link, &form.token).await?.ok_or(refused),
        Err(refused) => return Err(refused),
    };
    let locale = Locale::from_tag(&form.lang).unwrap_or(link.language);
    let attempt = Attempt {
        token: form.token.clone(),
        method: request.method,
        locale,
        customer_email: Some(request.email.clone()),
        customer_name: request.name.clone(),
        card: request.card.as_ref().map(|(_, summary)| summary.clone()),
        konbini_store: request.store,
    };
    if link.mode == Mode::Live {
        let (payment, _) = payments::start(db, &link, &attempt).await?;
        return ensure_session(state, &link, payment, &form.token).await;
    }
    // The simulator answers at once: the attempt and its outcome are one commit.
    let (payment, _) = payments::start_with(db, &link, &attempt, simulate_outcome(&request)).await?;
    Ok(payment)
}

/// The payment an earlier submission with `token` started, if any.
async fn first_submission(state: &AppState, link: &CheckoutLink, token: &str) -> AppResult<Option<Payment>> {
    let Some(first) = payments::by_token(&state.db, token).await? else {
        return Ok(None);
    };
    if first.view.link_id != link.id {
        return Err(AppError::BadRequest);
    }
    // A retry after KOMOJU did not answer in time: same idempotency key, same session.
    match link.mode {
        Mode::Live => ensure_session(state, link, first, token).await.map(Some),
        Mode::Test => Ok(Some(first)),
    }
}

/// The submission parsed, if this link can take it now.
async fn accepted(state: &AppState, link: &CheckoutLink, form: &PayForm) -> AppResult<PayRequest> {
    if link.availability != crate::domain::link::Availability::Active {
        return Err(AppError::Gone);
    }
    let request = form.parse(this_month()).map_err(|(field, e)| AppError::invalid(field, e))?;
    // Test links never reach KOMOJU; live links take nothing but KOMOJU.
    if (link.mode == Mode::Live) != (request.method == Method::Komoju) {
        return Err(AppError::invalid("method", crate::domain::fields::FieldError::NotAllowed));
    }
    if link.mode == Mode::Live && super::komoju::Komoju::settings(&state.db, link.account_id).await?.is_none() {
        return Err(AppError::Conflict("the seller has not connected a KOMOJU account".into()));
    }
    Ok(request)
}

/// Gives a live attempt its KOMOJU session (once: the attempt's token is the
/// idempotency key, so a retry gets the session KOMOJU already made).
async fn ensure_session(state: &AppState, link: &CheckoutLink, payment: Payment, token: &str) -> AppResult<Payment> {
    if payment.provider_session.is_some() || payment.view.status != PaymentStatus::Pending {
        return Ok(payment);
    }
    let db = &state.db;
    let credentials =
        state.komoju.credentials(db, link.account_id).await?.ok_or_else(|| AppError::Conflict("the seller has not connected a KOMOJU account".into()))?;
    let view = &payment.view;
    let body = serde_json::json!({
        "amount": view.amount,
        "currency": view.currency.code(),
        "return_url": format!("{}/pay/{}/{}/return", state.config.public_url, link.slug, view.public_id),
        "default_locale": view.locale.code(),
        "email": view.customer_email,
        "payment_data": { "external_order_num": view.public_id },
        "metadata": { "paylinks_payment": view.public_id, "paylinks_link": link.slug },
    });
    match state.komoju.create_session(&credentials.secret_key, token, &body).await {
        Ok(session) => payments::attach_session(db, payment.id, &session.id, &session.url).await,
        // Still being created by the first request: the customer's retry waits for it.
        Err(AppError::Conflict(reason)) => Err(AppError::Conflict(reason)),
        Err(error) => {
            // The customer never saw a KOMOJU page, so nothing can be paid on
            // this attempt: end it and let them start over.
            let failed = Transition::Fail { reason: crate::domain::payment::DeclineReason::ProviderUnavailable };
            if let Err(e) = payments::transition(db, payment.id, failed, Facts::default()).await {
                tracing::warn!(error = %e, "could not end an attempt KOMOJU did not take");
            }
            Err(error)
        }
    }
}

/// The customer is back from KOMOJU: ask KOMOJU what happened (never trust
/// the query string) and record it. Webhooks bring the same news later.
pub async fn komoju_return(state: &AppState, slug: &str, public_id: &str) -> AppResult<Payment> {
    let db = &state.db;
    let payment = payments::by_public_id(db, public_id).await?;
    if payment.view.link_slug != slug || payment.view.mode != Mode::Live {
        return Err(AppError::NotFound);
    }
    let Some(session_id) = payment.provider_session.clone() else {
        return Ok(payment);
    };
    let credentials = state.komoju.credentials(db, payment.account_id).await?.ok_or(AppError::NotFound)?;
    let session = state.komoju.session(&credentials.secret_key, &session_id).await?;
    match (&session.payment, session.status.as_str()) {
        (Some(theirs), _) => {
            let followed = payments::follow(db, &payment, theirs, "return from KOMOJU").await?;
            payments::refund_if_unwanted(&state.komoju, db, &followed);
            Ok(followed)
        }
        (None, "cancelled") if payment.view.status.is_open() => {
            payments::transition(db, payment.id, Transition::Cancel, Facts { provider_settled: true, ..Facts::default() }).await
        }
        _ => Ok(payment),
    }
}

/// The test-mode connector's answer to a new attempt; `None` leaves it
/// pending (PayPay waits for the customer on the simulated approval page).
fn simulate_outcome(request: &PayRequest) -> Option<(Transition, Facts)> {
    match request.method {
        Method::Card => {
            let (number, _) = request.card.as_ref()?;
            let transition = match simulate(number) {
                Ok(()) => Transition::Capture,
                Err(reason) => Transition::Fail { reason },
            };
            Some((transition, Facts::default()))
        }
        Method::Konbini => {
            let facts = Facts { konbini_number: Some(konbini_number()), deadline_at: Some(now_ms() + Method::Konbini.deadline_ms()), ..Facts::default() };
            Some((Transition::Authorize, facts))
        }
        Method::Paypay | Method::Komoju => None,
    }
}

/// A 12-digit number the customer gives at the store's terminal.
fn konbini_number() -> String {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).expect("the OS provides randomness");
    format!("{:012}", u64::from_be_bytes(bytes) % 1_000_000_000_000)
}

/// The customer's answer on the simulated PayPay page.
pub async fn paypay_decision(db: &Db, slug: &str, public_id: &str, approve: bool) -> AppResult<Payment> {
    let payment = payments::by_public_id(db, public_id).await?;
    if payment.view.link_slug != slug || payment.view.method != Method::Paypay || payment.view.mode != Mode::Test {
        return Err(AppError::NotFound);
    }
    if payment.view.status != PaymentStatus::Pending {
        // Already decided (double click, back button): show what happened.
        return Ok(payment);
    }
    let transition = if approve { Transition::Capture } else { Transition::Cancel };
    match payments::transition(db, payment.id, transition, Facts::default()).await {
        Err(AppError::Conflict(_)) => payments::by_public_id(db, public_id).await,
        other => other,
    }
}

//! A customer's payment, from the posted form to the connector's answer.
//!
//! Test-mode links go to the built-in simulator (KOMOJU's documented test
//! cards, konbini, a PayPay-style approval page); no real money ever moves.

use super::db::{now_ms, Db};
use super::payments::{self, Attempt, CheckoutLink, Facts, Payment};
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
/// submission's payment, whatever this submission says.
pub async fn pay(db: &Db, form: &PayForm) -> AppResult<Payment> {
    let link = payments::checkout_link(db, &form.slug).await?;
    if !payments::valid_token(&form.token) {
        return Err(AppError::BadRequest);
    }
    if let Some(first) = payments::by_token(db, &form.token).await? {
        return if first.view.link_id == link.id { Ok(first) } else { Err(AppError::BadRequest) };
    }
    if link.availability != crate::domain::link::Availability::Active {
        return Err(AppError::Gone);
    }
    let request = form.parse(this_month()).map_err(|(field, e)| AppError::invalid(field, e))?;
    if link.mode == Mode::Live {
        // The KOMOJU connector is not wired in yet: never pretend to take money.
        return Err(AppError::Conflict("live payments are not available yet".into()));
    }
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
    let (payment, created) = payments::start(db, &link, &attempt).await?;
    if !created {
        return Ok(payment);
    }
    simulate_payment(db, &link, payment, request).await
}

/// The test-mode connector.
async fn simulate_payment(db: &Db, _link: &CheckoutLink, payment: Payment, request: PayRequest) -> AppResult<Payment> {
    match request.method {
        Method::Card => {
            let (number, _) = request.card.as_ref().ok_or(AppError::Internal)?;
            let transition = match simulate(number) {
                Ok(()) => Transition::Capture,
                Err(reason) => Transition::Fail { reason },
            };
            payments::transition(db, payment.id, transition, Facts::default()).await
        }
        Method::Konbini => {
            let facts = Facts {
                konbini_number: Some(konbini_number()),
                deadline_at: Some(now_ms() + Method::Konbini.deadline_ms()),
                ..Facts::default()
            };
            payments::transition(db, payment.id, Transition::Authorize, facts).await
        }
        // Waits for the customer on the simulated approval page.
        Method::Paypay => Ok(payment),
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

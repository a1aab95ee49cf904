//! What a merchant does to a payment from the dashboard: refunds (through
//! KOMOJU in live mode) and the test-mode simulator's buttons.

use super::*;
use crate::domain::refund::{Refund, RefundAmount};

/// What a merchant can do to one of their payments (the dashboard, the REST API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MerchantAction {
    /// Gives money back: all that is left, or part of it.
    Refund(Refund),
    /// Test mode: the konbini customer paid at the store.
    MarkPaid,
    /// Test mode: the deadline passed.
    Expire,
    /// Test mode: the card holder disputed the charge.
    ChargeBack,
}

/// The refund a merchant asks for, with its amount parsed in the payment's
/// currency (`amount`: the form's or the API's parser). "Nothing left to
/// refund" is said before anything about the amount.
pub fn refund_request(
    payment: &Payment,
    amount: impl FnOnce(crate::domain::Currency) -> Result<RefundAmount, crate::domain::fields::FieldError>,
    reason: &str,
) -> AppResult<MerchantAction> {
    if payment.state()?.refundable() == 0 {
        return Err(AppError::Conflict("nothing left to refund".into()));
    }
    let amount = amount(payment.view.currency).map_err(|e| AppError::invalid("amount", e))?;
    Ok(MerchantAction::Refund(Refund::new(amount, reason)?))
}

/// Does `action` to `payment`, which the caller looked up with [`owned`]
/// (it needed its currency to parse a refund's amount).
pub async fn merchant_action(
    db: &Db,
    komoju: &crate::server::komoju::Komoju,
    account: &crate::server::auth::Merchant,
    payment: Payment,
    action: MerchantAction,
) -> AppResult<Payment> {
    use crate::domain::fields::FieldError;
    let test_only = |t: Transition| {
        if payment.view.mode == Mode::Test {
            Ok(t)
        } else {
            Err(AppError::Forbidden)
        }
    };
    let (transition, note) = match action {
        MerchantAction::Refund(Refund { amount, reason }) => {
            let state = payment.state()?;
            let remaining = state.refundable();
            if remaining == 0 {
                return Err(AppError::Conflict("nothing left to refund".into()));
            }
            let amount = amount.of(remaining);
            if amount > remaining {
                let max = crate::domain::money::format_minor(remaining, payment.view.currency, account.locale);
                return Err(AppError::invalid("amount", FieldError::AmountAboveMaximum { max }));
            }
            if payment.view.mode == Mode::Live {
                return live_refund(db, komoju, &payment, &state, amount, reason).await;
            }
            (Transition::Refund { amount }, reason)
        }
        MerchantAction::MarkPaid if payment.view.method == Method::Konbini => (test_only(Transition::Capture)?, None),
        MerchantAction::MarkPaid => return Err(AppError::Conflict("only konbini payments are paid at a store".into())),
        MerchantAction::Expire => (test_only(Transition::Expire)?, None),
        MerchantAction::ChargeBack => (test_only(Transition::ChargeBack)?, None),
    };
    transition_with_note(db, payment.id, transition, note).await
}

/// Live refunds are KOMOJU's to make; our record follows its answer.
pub(super) async fn live_refund(
    db: &Db,
    komoju: &crate::server::komoju::Komoju,
    payment: &Payment,
    state: &PaymentState,
    amount: i64,
    reason: Option<String>,
) -> AppResult<Payment> {
    let credentials = komoju.credentials(db, payment.account_id).await?.ok_or_else(|| AppError::Conflict("no KOMOJU account is connected".into()))?;
    let provider_payment = payment.provider_ref.as_deref().ok_or_else(|| AppError::Conflict("KOMOJU has not reported this payment yet".into()))?;
    // A double click sends the same key, so KOMOJU refunds once.
    let key = format!("refund-{}-{}-{}", payment.view.public_id, state.refunded(), amount);
    let theirs = komoju.refund(&credentials.secret_key, provider_payment, amount, reason.as_deref(), &key).await?;
    let note = reason.unwrap_or_else(|| "refund".to_owned());
    follow(db, payment, &theirs, &note).await
}

pub(super) async fn transition_with_note(db: &Db, id: i64, t: Transition, note: Option<String>) -> AppResult<Payment> {
    transition(db, id, t, Facts { note, ..Facts::default() }).await
}

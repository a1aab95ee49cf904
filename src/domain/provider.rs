//! What the payment provider (KOMOJU) says about a live payment, and the
//! transitions that bring our record in line with it.
//!
//! The provider is the source of truth for live payments: its webhooks and
//! the session fetched on the customer's return may arrive in any order and
//! more than once, so the answer is always "from where we are, move to where
//! they are", and nothing when we are already there.

use super::payment::{DeclineReason, PaymentState, PaymentStatus, Transition};

/// KOMOJU's payment statuses (`failed` only appears as an event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderStatus {
    Pending,
    Authorized,
    Captured,
    Refunded,
    Cancelled,
    Expired,
    Failed,
}

impl ProviderStatus {
    pub fn parse(input: &str) -> Option<ProviderStatus> {
        Some(match input {
            "pending" => ProviderStatus::Pending,
            "authorized" => ProviderStatus::Authorized,
            "captured" => ProviderStatus::Captured,
            "refunded" => ProviderStatus::Refunded,
            "cancelled" => ProviderStatus::Cancelled,
            "expired" => ProviderStatus::Expired,
            "failed" => ProviderStatus::Failed,
            _ => return None,
        })
    }
}

/// The provider's view of one payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderPayment {
    pub id: String,
    pub status: ProviderStatus,
    pub amount: i64,
    pub currency: String,
    /// Refunded so far, in minor units.
    pub refunded: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    #[error("the provider's payment is for {theirs} {currency}, ours for {ours}")]
    AmountMismatch { ours: i64, theirs: i64, currency: String },
    #[error("the provider says {theirs:?} but our payment is already {ours:?}; needs a person")]
    Diverged { ours: PaymentStatus, theirs: ProviderStatus },
}

/// The transitions, in order, that take `ours` to what the provider reports.
pub fn catch_up(ours: &PaymentState, currency: &str, theirs: &ProviderPayment) -> Result<Vec<Transition>, SyncError> {
    if theirs.amount != ours.amount() || !theirs.currency.eq_ignore_ascii_case(currency) {
        return Err(SyncError::AmountMismatch { ours: ours.amount(), theirs: theirs.amount, currency: theirs.currency.clone() });
    }
    use PaymentStatus as S;
    use ProviderStatus as P;
    let open = ours.status().is_open();
    let diverged = || SyncError::Diverged { ours: ours.status(), theirs: theirs.status };
    let mut steps = Vec::new();
    match theirs.status {
        P::Pending => {}
        P::Authorized if ours.status() == S::Pending => steps.push(Transition::Authorize),
        P::Authorized => {}
        P::Captured | P::Refunded => {
            if open {
                steps.push(Transition::Capture);
            } else if matches!(ours.status(), S::Failed | S::Expired | S::Cancelled) {
                // Money moved after we had given up on the attempt (its
                // session's lifetime passed): never hide it.
                steps.push(Transition::LateCapture);
            }
            // A refund only ever grows; a full one is "refunded".
            let target = if theirs.status == P::Refunded { ours.amount() } else { theirs.refunded.min(ours.amount()) };
            if ours.status() != S::ChargedBack && target > ours.refunded() {
                steps.push(Transition::Refund { amount: target - ours.refunded() });
            }
        }
        P::Cancelled if open => steps.push(Transition::Cancel),
        P::Expired if open => steps.push(Transition::Expire),
        P::Failed if open => steps.push(Transition::Fail { reason: DeclineReason::Declined }),
        P::Cancelled | P::Expired | P::Failed => {}
    }
    // Every step must be legal from where the previous one left us.
    let mut state = *ours;
    for step in &steps {
        state = state.apply(step).map_err(|_| diverged())?;
    }
    Ok(steps)
}

/// What a KOMOJU dispute event means for a captured payment. KOMOJU's public
/// event list names no dispute events (disputes are handled in its
/// dashboard), so these names are our mapping, to be confirmed against a
/// real account: matched exactly, so an unknown event never moves money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisputeNews {
    /// The card network took the money back (or a dispute opened, which
    /// holds it): the payment counts as charged back.
    ChargedBack,
    /// The merchant won the dispute: the money came back. A charge-back is
    /// final in our records, so a person has to look.
    Reversed,
}

impl DisputeNews {
    pub fn of_event(kind: &str) -> Option<DisputeNews> {
        match kind {
            "payment.chargeback" | "payment.chargeback.created" | "payment.dispute.created" | "payment.dispute.lost" => Some(DisputeNews::ChargedBack),
            "payment.chargeback.reversed" | "payment.dispute.won" => Some(DisputeNews::Reversed),
            _ => None,
        }
    }

    /// The transition that records this news, if any: nothing when the
    /// payment is already charged back (a repeat), a conflict when it was
    /// never captured or was already refunded in full (no money to take back).
    pub fn step(self, ours: &PaymentState, currency: &str, theirs: &ProviderPayment) -> Result<Option<Transition>, SyncError> {
        if theirs.amount != ours.amount() || !theirs.currency.eq_ignore_ascii_case(currency) {
            return Err(SyncError::AmountMismatch { ours: ours.amount(), theirs: theirs.amount, currency: theirs.currency.clone() });
        }
        let diverged = || SyncError::Diverged { ours: ours.status(), theirs: theirs.status };
        match (self, ours.status()) {
            (DisputeNews::ChargedBack, PaymentStatus::ChargedBack) => Ok(None),
            (DisputeNews::ChargedBack, _) => ours.apply(&Transition::ChargeBack).map(|_| Some(Transition::ChargeBack)).map_err(|_| diverged()),
            (DisputeNews::Reversed, _) => Err(diverged()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theirs(status: ProviderStatus, refunded: i64) -> ProviderPayment {
        ProviderPayment { id: "p1".into(), status, amount: 1000, currency: "JPY".into(), refunded }
    }

    fn state(status: PaymentStatus, refunded: i64) -> PaymentState {
        PaymentState::from_parts(status, 1000, refunded).unwrap()
    }

    #[test]
    fn pending_catches_up_to_every_provider_status() {
        let ours = state(PaymentStatus::Pending, 0);
        let steps = |status, refunded| catch_up(&ours, "JPY", &theirs(status, refunded)).unwrap();
        assert_eq!(steps(ProviderStatus::Pending, 0), vec![]);
        assert_eq!(steps(ProviderStatus::Authorized, 0), vec![Transition::Authorize]);
        assert_eq!(steps(ProviderStatus::Captured, 0), vec![Transition::Capture]);
        assert_eq!(steps(ProviderStatus::Captured, 300), vec![Transition::Capture, Transition::Refund { amount: 300 }]);
        assert_eq!(steps(ProviderStatus::Refunded, 1000), vec![Transition::Capture, Transition::Refund { amount: 1000 }]);
        assert_eq!(steps(ProviderStatus::Cancelled, 0), vec![Transition::Cancel]);
        assert_eq!(steps(ProviderStatus::Expired, 0), vec![Transition::Expire]);
        assert_eq!(steps(ProviderStatus::Failed, 0), vec![Transition::Fail { reason: DeclineReason::Declined }]);
    }

    #[test]
    fn repeated_news_changes_nothing() {
        let captured = state(PaymentStatus::Captured, 0);
        assert_eq!(catch_up(&captured, "JPY", &theirs(ProviderStatus::Captured, 0)).unwrap(), vec![]);
        assert_eq!(catch_up(&captured, "JPY", &theirs(ProviderStatus::Authorized, 0)).unwrap(), vec![]);
        let partly = state(PaymentStatus::Captured, 300);
        assert_eq!(catch_up(&partly, "JPY", &theirs(ProviderStatus::Captured, 300)).unwrap(), vec![]);
        // An older event (smaller refund) arriving late does not undo anything.
        assert_eq!(catch_up(&partly, "JPY", &theirs(ProviderStatus::Captured, 100)).unwrap(), vec![]);
        assert_eq!(catch_up(&partly, "JPY", &theirs(ProviderStatus::Captured, 500)).unwrap(), vec![Transition::Refund { amount: 200 }]);
        assert_eq!(catch_up(&partly, "JPY", &theirs(ProviderStatus::Refunded, 1000)).unwrap(), vec![Transition::Refund { amount: 700 }]);
        let refunded = state(PaymentStatus::Refunded, 1000);
        assert_eq!(catch_up(&refunded, "JPY", &theirs(ProviderStatus::Refunded, 1000)).unwrap(), vec![]);
        let expired = state(PaymentStatus::Expired, 0);
        assert_eq!(catch_up(&expired, "JPY", &theirs(ProviderStatus::Expired, 0)).unwrap(), vec![]);
        assert_eq!(catch_up(&expired, "JPY", &theirs(ProviderStatus::Cancelled, 0)).unwrap(), vec![]);
    }

    #[test]
    fn money_after_giving_up_is_recorded_and_a_wrong_amount_flagged() {
        for given_up in [PaymentStatus::Expired, PaymentStatus::Failed, PaymentStatus::Cancelled] {
            let ours = state(given_up, 0);
            assert_eq!(catch_up(&ours, "JPY", &theirs(ProviderStatus::Captured, 0)).unwrap(), vec![Transition::LateCapture]);
            assert_eq!(
                catch_up(&ours, "JPY", &theirs(ProviderStatus::Refunded, 1000)).unwrap(),
                vec![Transition::LateCapture, Transition::Refund { amount: 1000 }]
            );
        }
        // Charged back is final: a capture report then needs a person.
        let charged_back = state(PaymentStatus::ChargedBack, 0);
        assert_eq!(catch_up(&charged_back, "JPY", &theirs(ProviderStatus::Captured, 0)).unwrap(), vec![]);
        let ours = state(PaymentStatus::Pending, 0);
        let mut other = theirs(ProviderStatus::Captured, 0);
        other.amount = 999;
        assert!(matches!(catch_up(&ours, "JPY", &other), Err(SyncError::AmountMismatch { .. })));
        assert!(matches!(catch_up(&ours, "USD", &theirs(ProviderStatus::Captured, 0)), Err(SyncError::AmountMismatch { .. })));
    }

    #[test]
    fn statuses_parse() {
        for s in ["pending", "authorized", "captured", "refunded", "cancelled", "expired", "failed"] {
            assert!(ProviderStatus::parse(s).is_some(), "{s}");
        }
        assert_eq!(ProviderStatus::parse("paid"), None);
    }

    #[test]
    fn chargebacks_take_captured_money_back_once() {
        let news = DisputeNews::of_event("payment.chargeback").unwrap();
        let them = theirs(ProviderStatus::Captured, 0);
        assert_eq!(news.step(&state(PaymentStatus::Captured, 0), "JPY", &them), Ok(Some(Transition::ChargeBack)));
        assert_eq!(news.step(&state(PaymentStatus::Captured, 300), "JPY", &them), Ok(Some(Transition::ChargeBack)), "partially refunded");
        assert_eq!(news.step(&state(PaymentStatus::ChargedBack, 0), "JPY", &them), Ok(None), "a repeat changes nothing");
        for never_paid in [PaymentStatus::Pending, PaymentStatus::Authorized, PaymentStatus::Failed, PaymentStatus::Refunded] {
            let ours = state(never_paid, if never_paid == PaymentStatus::Refunded { 1000 } else { 0 });
            assert!(matches!(news.step(&ours, "JPY", &them), Err(SyncError::Diverged { .. })), "{never_paid:?}");
        }
        let other = ProviderPayment { amount: 999, ..them.clone() };
        assert!(matches!(news.step(&state(PaymentStatus::Captured, 0), "JPY", &other), Err(SyncError::AmountMismatch { .. })));
        let won = DisputeNews::of_event("payment.dispute.won").unwrap();
        assert!(won.step(&state(PaymentStatus::ChargedBack, 0), "JPY", &them).is_err(), "needs a person");
        for kind in ["payment.captured", "payment.refunded", "payment.chargebackx", "chargeback", "payment.marked.as.fraud"] {
            assert_eq!(DisputeNews::of_event(kind), None, "{kind}");
        }
    }
}

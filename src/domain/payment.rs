//! Payments as an explicit state machine, and the per-link sales statistics
//! each state contributes to.
//!
//! ```text
//! pending ──► authorized ──► captured ──► refunded (full)
//!    │            │             │  └────► captured with refunded_amount > 0 (partial)
//!    │            │             └───────► charged_back
//!    ├────────────┴──► failed | expired | cancelled ──► captured (late: live only)
//!    └──► captured
//! ```
//! A late capture records money the provider moved after we had ended the
//! attempt ourselves (its session's lifetime passed): hiding it would be worse.
//! A state only changes through [`PaymentState::apply`]; anything else is an
//! [`IllegalTransition`]. The database refuses the same transitions (trigger).

use serde::{Deserialize, Serialize};
use std::fmt;

/// How the customer pays.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Card,
    Konbini,
    Paypay,
    /// Live mode: the customer chose and paid on KOMOJU's hosted page.
    Komoju,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::Card, Method::Konbini, Method::Paypay, Method::Komoju];

    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Card => "card",
            Method::Konbini => "konbini",
            Method::Paypay => "paypay",
            Method::Komoju => "komoju",
        }
    }

    pub fn parse(input: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == input)
    }

    /// Whether our expiry job may end the attempt at its deadline.
    pub const fn expires_locally(self) -> bool {
        !matches!(self, Method::Komoju)
    }

    /// How long an attempt may stay unfinished before the expiry job ends it:
    /// PayPay's approval window is about 5 minutes, konbini gives 3 days to pay
    /// at the store; a card attempt only stays pending if we crashed mid-way.
    pub const fn deadline_ms(self) -> i64 {
        match self {
            Method::Card => 30 * 60 * 1000,
            Method::Konbini => 3 * 24 * 60 * 60 * 1000,
            Method::Paypay => 5 * 60 * 1000,
            // The KOMOJU session's lifetime: past it the attempt is ended
            // locally (after asking KOMOJU), so a reserved unit comes back;
            // money KOMOJU reports later is still recorded (a late capture).
            Method::Komoju => 24 * 60 * 60 * 1000,
        }
    }
}

/// The stored status (a column), without the refunded amount.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Authorized,
    Captured,
    Refunded,
    Failed,
    Expired,
    Cancelled,
    ChargedBack,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 8] = [
        PaymentStatus::Pending,
        PaymentStatus::Authorized,
        PaymentStatus::Captured,
        PaymentStatus::Refunded,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
        PaymentStatus::Cancelled,
        PaymentStatus::ChargedBack,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Captured => "captured",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::ChargedBack => "charged_back",
        }
    }

    pub fn parse(input: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|s| s.as_str() == input)
    }

    /// Started but not (or not yet) paid: what the summary calls "pending".
    pub const fn is_incomplete(self) -> bool {
        matches!(self, PaymentStatus::Pending | PaymentStatus::Authorized | PaymentStatus::Failed | PaymentStatus::Expired | PaymentStatus::Cancelled)
    }

    /// Still waiting for the customer; the expiry job ends these at their deadline.
    pub const fn is_open(self) -> bool {
        matches!(self, PaymentStatus::Pending | PaymentStatus::Authorized)
    }
}

/// What may happen to a payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Transition {
    /// An async method is waiting for the customer (konbini number issued).
    Authorize,
    Capture,
    /// The provider captured an attempt we had already ended (live mode only).
    LateCapture,
    Fail {
        reason: DeclineReason,
    },
    Expire,
    Cancel,
    /// Gives back `amount` (minor units); the remainder reaching zero makes it `refunded`.
    Refund {
        amount: i64,
    },
    ChargeBack,
}

impl Transition {
    /// Name in the events log.
    pub fn kind(&self) -> &'static str {
        match self {
            Transition::Authorize => "authorized",
            Transition::Capture => "captured",
            Transition::LateCapture => "captured_late",
            Transition::Fail { .. } => "failed",
            Transition::Expire => "expired",
            Transition::Cancel => "cancelled",
            Transition::Refund { .. } => "refunded",
            Transition::ChargeBack => "charged_back",
        }
    }
}

/// A payment's state with what the status alone does not say: how much of a
/// captured payment went back to the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentState {
    status: PaymentStatus,
    amount: i64,
    refunded: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum IllegalTransition {
    #[error("a {from:?} payment cannot become {to}")]
    NotFrom { from: PaymentStatus, to: String },
    #[error("refund of {requested} exceeds the {remaining} left")]
    RefundTooLarge { requested: i64, remaining: i64 },
    #[error("a refund must be positive")]
    RefundNotPositive,
}

impl PaymentState {
    /// A new attempt.
    pub fn new(amount: i64) -> PaymentState {
        debug_assert!(amount > 0);
        PaymentState { status: PaymentStatus::Pending, amount, refunded: 0 }
    }

    /// A state read back from storage; `None` for combinations the state
    /// machine can never produce.
    pub fn from_parts(status: PaymentStatus, amount: i64, refunded: i64) -> Option<PaymentState> {
        let consistent = amount > 0
            && match status {
                PaymentStatus::Captured => (0..amount).contains(&refunded),
                PaymentStatus::Refunded => refunded == amount,
                PaymentStatus::ChargedBack => (0..amount).contains(&refunded),
                _ => refunded == 0,
            };
        consistent.then_some(PaymentState { status, amount, refunded })
    }

    pub fn status(&self) -> PaymentStatus {
        self.status
    }

    pub fn amount(&self) -> i64 {
        self.amount
    }

    pub fn refunded(&self) -> i64 {
        self.refunded
    }

    /// What a refund may still give back.
    pub fn refundable(&self) -> i64 {
        match self.status {
            PaymentStatus::Captured => self.amount - self.refunded,
            _ => 0,
        }
    }

    pub fn is_partially_refunded(&self) -> bool {
        self.status == PaymentStatus::Captured && self.refunded > 0
    }

    /// The next state, or why there is none.
    pub fn apply(&self, transition: &Transition) -> Result<PaymentState, IllegalTransition> {
        use PaymentStatus::*;
        let to = |status| Ok(PaymentState { status, ..*self });
        match (self.status, transition) {
            (Pending, Transition::Authorize) => to(Authorized),
            (Pending | Authorized, Transition::Capture) => to(Captured),
            (Failed | Expired | Cancelled, Transition::LateCapture) => to(Captured),
            (Pending | Authorized, Transition::Fail { .. }) => to(Failed),
            (Pending | Authorized, Transition::Expire) => to(Expired),
            (Pending | Authorized, Transition::Cancel) => to(Cancelled),
            (Captured, Transition::Refund { amount }) => {
                let remaining = self.amount - self.refunded;
                if *amount <= 0 {
                    Err(IllegalTransition::RefundNotPositive)
                } else if *amount > remaining {
                    Err(IllegalTransition::RefundTooLarge { requested: *amount, remaining })
                } else {
                    let refunded = self.refunded + amount;
                    let status = if refunded == self.amount { Refunded } else { Captured };
                    Ok(PaymentState { status, amount: self.amount, refunded })
                }
            }
            (Captured, Transition::ChargeBack) => to(ChargedBack),
            (from, transition) => Err(IllegalTransition::NotFrom { from, to: transition.kind().to_owned() }),
        }
    }

    /// This payment's share of its link's [`SalesStats`].
    pub fn contribution(&self) -> SalesStats {
        match self.status {
            PaymentStatus::Captured => SalesStats { captured_amount: self.amount - self.refunded, captured_payments: 1, ..SalesStats::ZERO },
            PaymentStatus::Refunded => SalesStats { refunded_payments: 1, ..SalesStats::ZERO },
            PaymentStatus::ChargedBack => SalesStats::ZERO,
            _ => SalesStats { pending_payments: 1, ..SalesStats::ZERO },
        }
    }
}

/// The Total Sales Summary of a link: the sum of its payments' contributions,
/// kept up to date in the same transaction as every transition.
///
/// - captured amount: Σ(amount − refunded) over captured payments (partially
///   refunded included), charged-back excluded;
/// - captured payments: captured and not fully refunded, not charged back;
/// - pending payments: started but not paid (pending, authorized, failed,
///   expired, cancelled);
/// - refunded payments: fully refunded only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesStats {
    pub captured_amount: i64,
    pub captured_payments: i64,
    pub pending_payments: i64,
    pub refunded_payments: i64,
}

impl SalesStats {
    pub const ZERO: SalesStats = SalesStats { captured_amount: 0, captured_payments: 0, pending_payments: 0, refunded_payments: 0 };

    /// How the link's figures move when a payment goes from `before` to `after`
    /// (`before` is `None` for a new attempt).
    pub fn delta(before: Option<&PaymentState>, after: &PaymentState) -> SalesStats {
        after.contribution() - before.map(PaymentState::contribution).unwrap_or(SalesStats::ZERO)
    }

    pub fn sum<'a>(states: impl IntoIterator<Item = &'a PaymentState>) -> SalesStats {
        states.into_iter().fold(SalesStats::ZERO, |acc, s| acc + s.contribution())
    }
}

impl std::ops::Add for SalesStats {
    type Output = SalesStats;
    fn add(self, o: SalesStats) -> SalesStats {
        SalesStats {
            captured_amount: self.captured_amount + o.captured_amount,
            captured_payments: self.captured_payments + o.captured_payments,
            pending_payments: self.pending_payments + o.pending_payments,
            refunded_payments: self.refunded_payments + o.refunded_payments,
        }
    }
}

impl std::ops::Sub for SalesStats {
    type Output = SalesStats;
    fn sub(self, o: SalesStats) -> SalesStats {
        SalesStats {
            captured_amount: self.captured_amount - o.captured_amount,
            captured_payments: self.captured_payments - o.captured_payments,
            pending_payments: self.pending_payments - o.pending_payments,
            refunded_payments: self.refunded_payments - o.refunded_payments,
        }
    }
}

/// Why a payment failed, shown to the customer in their language.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    InsufficientFunds,
    OverLimit,
    BadCvc,
    ExpiredCard,
    CardNotUsable,
    InvalidCard,
    /// Test mode only takes the documented test card numbers.
    TestCardRequired,
    /// The link was deactivated, expired or sold out before the capture.
    LinkUnavailable,
    /// The payment provider said no without a more precise reason.
    Declined,
    /// The payment provider could not be reached; nothing was charged.
    ProviderUnavailable,
}

impl DeclineReason {
    pub const ALL: [DeclineReason; 10] = [
        DeclineReason::InsufficientFunds,
        DeclineReason::OverLimit,
        DeclineReason::BadCvc,
        DeclineReason::ExpiredCard,
        DeclineReason::CardNotUsable,
        DeclineReason::InvalidCard,
        DeclineReason::TestCardRequired,
        DeclineReason::LinkUnavailable,
        DeclineReason::Declined,
        DeclineReason::ProviderUnavailable,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DeclineReason::InsufficientFunds => "insufficient_funds",
            DeclineReason::OverLimit => "over_limit",
            DeclineReason::BadCvc => "bad_cvc",
            DeclineReason::ExpiredCard => "expired_card",
            DeclineReason::CardNotUsable => "card_not_usable",
            DeclineReason::InvalidCard => "invalid_card",
            DeclineReason::TestCardRequired => "test_card_required",
            DeclineReason::LinkUnavailable => "link_unavailable",
            DeclineReason::Declined => "declined",
            DeclineReason::ProviderUnavailable => "provider_unavailable",
        }
    }

    pub fn parse(input: &str) -> Option<DeclineReason> {
        DeclineReason::ALL.into_iter().find(|r| r.as_str() == input)
    }

    /// Localized message id (`locales/*/payments.ftl`).
    pub fn message_id(self) -> String {
        format!("decline-{}", self.as_str().replace('_', "-"))
    }
}

impl fmt::Display for DeclineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payment as the customer's result page and the dashboard show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub public_id: String,
    pub link_id: i64,
    pub link_slug: String,
    pub link_name: String,
    pub mode: super::Mode,
    pub method: Method,
    pub status: PaymentStatus,
    pub amount: i64,
    pub refunded_amount: i64,
    pub currency: super::Currency,
    pub locale: super::Locale,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub card: Option<super::card::CardSummary>,
    pub konbini_store: Option<super::card::KonbiniStore>,
    pub konbini_number: Option<String>,
    pub failure_reason: Option<DeclineReason>,
    pub deadline_at: i64,
    pub created_at: i64,
    pub captured_at: Option<i64>,
    /// A capture the link would not have taken (live: paid through a KOMOJU
    /// session opened before the link closed), given back automatically.
    pub unwanted: Option<UnwantedCapture>,
    /// Its automatic refund is still to be (re)tried; `false` with `unwanted`
    /// on a payment still captured: it failed, the merchant has to act.
    pub auto_refund_due: bool,
}

/// Why a capture the provider settled is unwanted: the link would not have
/// taken it at that moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnwantedCapture {
    LinkInactive,
    LinkExpired,
    LimitReached,
}

impl UnwantedCapture {
    pub const fn as_str(self) -> &'static str {
        match self {
            UnwantedCapture::LinkInactive => "link_inactive",
            UnwantedCapture::LinkExpired => "link_expired",
            UnwantedCapture::LimitReached => "limit_reached",
        }
    }

    pub fn parse(input: &str) -> Option<UnwantedCapture> {
        [UnwantedCapture::LinkInactive, UnwantedCapture::LinkExpired, UnwantedCapture::LimitReached].into_iter().find(|u| u.as_str() == input)
    }

    pub fn message_id(self) -> String {
        format!("unwanted-{}", self.as_str().replace('_', "-"))
    }

    /// Whether link would have refused a capture at `at`: `captured` counts
    /// its captures including this one.
    pub fn judge(status: super::link::LinkStatus, expires_at: Option<i64>, usage_limit: Option<i64>, captured: i64, at: i64) -> Option<UnwantedCapture> {
        use super::link::{availability, Availability};
        match availability(status, expires_at, usage_limit, captured - 1, at) {
            Availability::Active => None,
            Availability::Inactive => Some(UnwantedCapture::LinkInactive),
            Availability::Expired => Some(UnwantedCapture::LinkExpired),
            Availability::LimitReached => Some(UnwantedCapture::LimitReached),
        }
    }
}

impl PaymentView {
    pub fn state(&self) -> Option<PaymentState> {
        PaymentState::from_parts(self.status, self.amount, self.refunded_amount)
    }
}

/// One row of a payment's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub kind: String,
    pub from_status: Option<PaymentStatus>,
    pub to_status: PaymentStatus,
    pub amount: Option<i64>,
    pub detail: Option<String>,
    pub created_at: i64,
}

#[cfg(test)]
mod tests;

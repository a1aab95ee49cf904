//! The payment engine: attempts, transitions, per-link statistics, expiry and
//! the `verify` recomputation.
//!
//! Every change of a payment is one database transaction that (1) moves the
//! payment with a compare-and-set on its current state, (2) moves the link's
//! statistics by the state machine's delta and (3) appends an event. A capture
//! also re-checks the link (status, expiry, usage limit) in the same statement
//! that counts it, so N concurrent customers on a limit of N capture exactly N.
//!
//! - `store`: the payment row, its lookups and history;
//! - `start`: new attempts (and the unit a live attempt reserves);
//! - `transition`: every later change, and expiry;
//! - `stats`: the link's counters, the summary and `verify`;
//! - `refunds`: the merchant's actions on a payment;
//! - `live`: following KOMOJU's news and refunding unwanted captures.

use super::checkout_link_cache::{captured_on, CheckoutLink};
use super::db::{now_ms, Backend, Db, RowLock};
use super::ids::{random_token, valid_token};
use super::merchant_webhooks::outbox;
use crate::domain::card::{CardBrand, CardSummary, KonbiniStore};
use crate::domain::link::Availability;
use crate::domain::payment::{DeclineReason, Method, PaymentEvent, PaymentState, PaymentStatus, PaymentView, SalesStats, Transition, UnwantedCapture};
use crate::domain::webhook::{wanted_by, EventType};
use crate::domain::{Locale, Mode};
use crate::error::{AppError, AppResult};
use sqlx::Row;

mod group_commit;
mod live;
mod refunds;
mod start;
mod stats;
mod store;
mod transition;

pub use group_commit::written_together;
pub use live::*;
pub use refunds::*;
pub use start::*;
pub use stats::*;
pub use store::*;
pub use transition::*;

/// "The link takes payments now", as SQL on a `links` row: active and not
/// expired at `now` (a bound parameter such as `$2`). The one definition every
/// statement that starts, reserves or counts a payment uses (its usage limit
/// is checked by each where it applies); `CheckoutLink::availability` is its
/// twin for a link already read.
pub(super) fn link_open(now: &str) -> String {
    format!("status = 'active' AND (expires_at IS NULL OR expires_at > {now})")
}

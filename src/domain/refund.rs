//! A merchant's refund, parsed: how much and why. The dashboard's form
//! (major units, as typed) and the REST API (minor units) each parse into a
//! [`Refund`]; `server::payments::merchant_action` takes only that.

use super::fields::{self, FieldError};
use super::money::{Currency, Money};

/// How much a refund gives back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundAmount {
    /// Everything not refunded yet.
    Remaining,
    /// This much, a valid amount of the payment's currency.
    Exactly(Money),
}

impl RefundAmount {
    /// The dashboard's field: major units (`10.50`); empty for everything left.
    pub fn parse(typed: &str, currency: Currency) -> Result<RefundAmount, FieldError> {
        match typed.trim() {
            "" => Ok(RefundAmount::Remaining),
            text => Money::parse(text, currency).map(RefundAmount::Exactly).map_err(|e| e.field_error(currency)),
        }
    }

    /// The API's field: minor units; absent for everything left.
    pub fn from_minor(minor: Option<i64>, currency: Currency) -> Result<RefundAmount, FieldError> {
        match minor {
            None => Ok(RefundAmount::Remaining),
            Some(minor) if minor <= 0 => Err(FieldError::AmountMalformed),
            Some(minor) => Money::from_minor(minor, currency).map(RefundAmount::Exactly).map_err(|e| e.field_error(currency)),
        }
    }

    /// The minor units to give back when `remaining` is left.
    pub fn of(self, remaining: i64) -> i64 {
        match self {
            RefundAmount::Remaining => remaining,
            RefundAmount::Exactly(money) => money.minor(),
        }
    }
}

/// A refund to make: its amount and the merchant's reason (kept with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub amount: RefundAmount,
    pub reason: Option<String>,
}

impl Refund {
    pub const REASON_MAX: usize = 500;

    pub fn new(amount: RefundAmount, reason: &str) -> Result<Refund, (&'static str, FieldError)> {
        let reason = fields::optional_text(reason, Self::REASON_MAX, false).map_err(|e| ("reason", e))?;
        Ok(Refund { amount, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_and_the_api_agree() {
        let yen = |n| RefundAmount::Exactly(Money::from_minor(n, Currency::Jpy).unwrap());
        let cents = |n| RefundAmount::Exactly(Money::from_minor(n, Currency::Usd).unwrap());
        assert_eq!(RefundAmount::parse(" ", Currency::Jpy), Ok(RefundAmount::Remaining));
        assert_eq!(RefundAmount::from_minor(None, Currency::Jpy), Ok(RefundAmount::Remaining));
        assert_eq!(RefundAmount::parse("1,000", Currency::Jpy), Ok(yen(1000)));
        assert_eq!(RefundAmount::from_minor(Some(1000), Currency::Jpy), Ok(yen(1000)));
        assert_eq!(RefundAmount::parse("10.50", Currency::Usd), Ok(cents(1050)));
        assert_eq!(RefundAmount::from_minor(Some(1050), Currency::Usd), Ok(cents(1050)));
        assert_eq!(RefundAmount::from_minor(Some(0), Currency::Jpy), Err(FieldError::AmountMalformed));
        assert_eq!(RefundAmount::from_minor(Some(-5), Currency::Jpy), Err(FieldError::AmountMalformed));
        assert_eq!(RefundAmount::parse("ten", Currency::Jpy), Err(FieldError::AmountMalformed));
        assert_eq!(RefundAmount::parse("10.5", Currency::Jpy), Err(FieldError::AmountTooPrecise));
    }

    #[test]
    fn everything_left_or_the_amount_asked() {
        assert_eq!(RefundAmount::Remaining.of(700), 700);
        assert_eq!(RefundAmount::parse("300", Currency::Jpy).unwrap().of(700), 300);
    }

    #[test]
    fn reasons_are_short_single_lines() {
        assert_eq!(Refund::new(RefundAmount::Remaining, "  ").unwrap().reason, None);
        assert_eq!(Refund::new(RefundAmount::Remaining, " damaged ").unwrap().reason.as_deref(), Some("damaged"));
        assert_eq!(Refund::new(RefundAmount::Remaining, &"x".repeat(501)).map(|_| ()), Err(("reason", FieldError::TooLong { max: 500 })));
    }
}

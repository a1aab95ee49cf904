//! Pure rules of the product: no I/O, no framework types beyond serde.
//! Everything here compiles for both the server and the browser.

pub mod account;
pub mod api_key;
pub mod application;
pub mod card;
pub mod checkout;
pub mod email;
pub mod fields;
pub mod link;
pub mod locale;
pub mod money;
pub mod payment;
pub mod provider;
pub mod qr;
pub mod refund;
pub mod time_zone;
pub mod transactions;
pub mod webhook;

pub use account::{AccountView, ApplicationStatus, Mode, Role};
pub use link::{LinkSlug, ProductName};
pub use locale::Locale;
pub use money::{Currency, Money};

/// A stored text that names no value of its type (a corrupt row): what
/// `TryFrom<String>` answers for the types kept as text columns, so rows
/// map with `#[sqlx(try_from = "String")]`.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

/// `TryFrom<String>` from the type's own parser (`fn(&str) -> Option<Self>`).
macro_rules! stored_as_text {
    ($($ty:ty => $parse:expr),* $(,)?) => {$(
        impl TryFrom<String> for $ty {
            type Error = UnknownValue;
            fn try_from(value: String) -> Result<Self, UnknownValue> {
                let parse: fn(&str) -> Option<$ty> = $parse;
                parse(&value).ok_or(UnknownValue { kind: stringify!($ty), value })
            }
        }
    )*};
}

stored_as_text! {
    Mode => |s| s.parse().ok(),
    Role => |s| s.parse().ok(),
    ApplicationStatus => |s| s.parse().ok(),
    Locale => |s| s.parse().ok(),
    time_zone::TimeZone => time_zone::TimeZone::parse,
    Currency => |s| s.parse().ok(),
    payment::Method => payment::Method::parse,
    payment::PaymentStatus => payment::PaymentStatus::parse,
    email::EmailKind => email::EmailKind::parse,
    link::LinkStatus => link::LinkStatus::parse,
    webhook::EventType => webhook::EventType::parse,
    webhook::DeliveryStatus => webhook::DeliveryStatus::parse,
}

#[cfg(test)]
mod stored_text_tests {
    use super::*;

    #[test]
    fn stored_texts_map_back_or_name_the_bad_value() {
        assert_eq!(Mode::try_from("live".to_owned()).unwrap(), Mode::Live);
        assert_eq!(payment::PaymentStatus::try_from("refunded".to_owned()).unwrap(), payment::PaymentStatus::Refunded);
        let bad = Currency::try_from("XXX".to_owned()).unwrap_err();
        assert_eq!(bad.to_string(), "unknown Currency \"XXX\"");
    }
}

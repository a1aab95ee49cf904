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
pub mod time_zone;
pub mod transactions;
pub mod webhook;

pub use account::{AccountView, ApplicationStatus, Mode, Role};
pub use link::{LinkSlug, ProductName};
pub use locale::Locale;
pub use money::{Currency, Money};

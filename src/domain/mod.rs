//! Pure rules of the product: no I/O, no framework types beyond serde.
//! Everything here compiles for both the server and the browser.

pub mod locale;

pub use locale::Locale;

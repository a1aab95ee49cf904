//! Random public ids and tokens.

use crate::domain::LinkSlug;

/// A random 128-bit, URL-safe string (22 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the OS provides randomness");
    LinkSlug::from_random(bytes).as_str().to_owned()
}

/// Idempotency tokens are ours (`random_token`), but arrive from a form.
pub fn valid_token(token: &str) -> bool {
    LinkSlug::parse(token).is_some()
}

//! Secret API keys for the merchant REST API: one set per mode, shown once.

use super::Mode;
use serde::{Deserialize, Serialize};

/// How a key of each mode starts; a test key can never touch live data.
pub fn key_prefix(mode: Mode) -> &'static str {
    match mode {
        Mode::Test => "sk_test_",
        Mode::Live => "sk_live_",
    }
}

/// The mode a presented key claims, from its prefix (checked against the
/// stored key's mode as well).
pub fn mode_of(key: &str) -> Option<Mode> {
    [Mode::Test, Mode::Live].into_iter().find(|m| key.starts_with(key_prefix(*m)))
}

/// A key as the dashboard lists it (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    /// `sk_test_AbCd`: enough to recognise it.
    pub prefix: String,
    pub mode: Mode,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

/// A key just created: the only time `secret` is ever shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub secret: String,
    pub key: ApiKeyView,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_says_its_mode() {
        assert_eq!(mode_of("sk_test_abc"), Some(Mode::Test));
        assert_eq!(mode_of("sk_live_abc"), Some(Mode::Live));
        assert_eq!(mode_of("pk_test_abc"), None);
        assert_eq!(mode_of(""), None);
    }
}

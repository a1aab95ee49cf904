//! Payment link rules: product names, public slugs, status and availability.
//! A link's fields in every shape (as typed, as commands, as shown) are
//! [`fields`]'; times are [`datetime`]'s.

mod datetime;
mod fields;

pub use datetime::*;
pub use fields::*;

use super::fields::FieldError;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

pub const DESCRIPTION_MAX: usize = 5_000;
/// When the form gives no time zone (JavaScript off), times are Japan's.
pub const DEFAULT_TZ_OFFSET_MINUTES: i64 = 9 * 60;

/// A product name: 1–100 characters after trimming, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductName(String);

impl ProductName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(input: &str) -> Result<ProductName, FieldError> {
        super::fields::text(input, Self::MAX_LEN, false).map(ProductName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The uniqueness key: NFKC-normalized and case-folded, so "Ｔｅａ" and
    /// "tea" (or "ｶﾞ" and "ガ") name the same product.
    pub fn key(&self) -> String {
        self.0.nfkc().flat_map(char::to_lowercase).collect::<String>().nfkc().collect()
    }
}

/// The public, unguessable part of a link's URL: 128 random bits in
/// URL-safe base64 (22 characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkSlug(String);

impl LinkSlug {
    pub const LEN: usize = 22;

    pub fn from_random(bytes: [u8; 16]) -> LinkSlug {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bits: u128 = u128::from_be_bytes(bytes);
        let mut out = String::with_capacity(Self::LEN);
        for _ in 0..Self::LEN {
            out.push(ALPHABET[(bits & 63) as usize] as char);
            bits >>= 6;
        }
        LinkSlug(out)
    }

    /// Accepts only the shape `from_random` produces: 22 URL-safe base64 characters.
    pub fn parse(input: &str) -> Option<LinkSlug> {
        let valid = input.len() == Self::LEN && input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| LinkSlug(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether the merchant lets the link take payments.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkStatus {
    Active,
    Inactive,
}

impl LinkStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Active => "active",
            LinkStatus::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<LinkStatus> {
        match s {
            "active" => Some(LinkStatus::Active),
            "inactive" => Some(LinkStatus::Inactive),
            _ => None,
        }
    }
}

/// What the list and checkout show: the merchant's switch combined with
/// the advanced settings.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Active,
    Inactive,
    Expired,
    LimitReached,
}

impl Availability {
    pub const fn as_str(self) -> &'static str {
        match self {
            Availability::Active => "active",
            Availability::Inactive => "inactive",
            Availability::Expired => "expired",
            Availability::LimitReached => "limit_reached",
        }
    }
}

pub fn availability(status: LinkStatus, expires_at: Option<i64>, usage_limit: Option<i64>, captured: i64, now_ms: i64) -> Availability {
    if status == LinkStatus::Inactive {
        Availability::Inactive
    } else if expires_at.is_some_and(|t| t <= now_ms) {
        Availability::Expired
    } else if usage_limit.is_some_and(|limit| captured >= limit) {
        Availability::LimitReached
    } else {
        Availability::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ProductName::parse("  抹茶セット  ").unwrap().as_str(), "抹茶セット");
        assert_eq!(ProductName::parse(" "), Err(FieldError::Required));
        assert_eq!(ProductName::parse(&"あ".repeat(101)), Err(FieldError::TooLong { max: 100 }));
        assert!(ProductName::parse(&"あ".repeat(100)).is_ok());
        assert_eq!(ProductName::parse("tea\u{0}"), Err(FieldError::ControlCharacters));
        assert!(ProductName::parse("🍵 Matcha 말차").is_ok());
    }

    #[test]
    fn keys_fold_case_and_width() {
        let key = |s: &str| ProductName::parse(s).unwrap().key();
        assert_eq!(key("Green Tea"), key("green tea"));
        assert_eq!(key("Ｇｒｅｅｎ　Ｔｅａ"), key("green tea"));
        assert_eq!(key("ｶﾞﾗｽ"), key("ガラス"));
        assert_eq!(key("Straße"), key("STRASSE".to_lowercase().replace("ss", "ß").as_str()));
        assert_ne!(key("green tea"), key("greentea"));
    }

    #[test]
    fn slugs_are_long_random_and_url_safe() {
        let a = LinkSlug::from_random([0; 16]);
        let b = LinkSlug::from_random([255; 16]);
        let c = LinkSlug::from_random(*b"0123456789abcdef");
        assert_eq!(a.as_str().len(), 22);
        assert_ne!(a, b);
        assert_ne!(b, c);
        for slug in [&a, &b, &c] {
            assert_eq!(LinkSlug::parse(slug.as_str()).as_ref(), Some(slug));
        }
        assert_eq!(LinkSlug::parse("short"), None);
        assert_eq!(LinkSlug::parse("../../../../etc/passwd1"), None);
        assert_eq!(LinkSlug::parse("aaaaaaaaaaaaaaaaaaaaa%"), None);
    }

    const NOW: i64 = 1_795_000_000_000; // 2026-11-18

    #[test]
    fn availability_rules() {
        use Availability::*;
        let a = |status, exp, limit, captured| availability(status, exp, limit, captured, NOW);
        assert_eq!(a(LinkStatus::Active, None, None, 0), Active);
        assert_eq!(a(LinkStatus::Inactive, None, None, 0), Inactive);
        assert_eq!(a(LinkStatus::Active, Some(NOW), None, 0), Expired);
        assert_eq!(a(LinkStatus::Active, Some(NOW + 1), Some(3), 3), LimitReached);
        assert_eq!(a(LinkStatus::Active, None, Some(3), 2), Active);
    }
}

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A language Paylinks speaks. The dashboard, the checkout page and every
/// message catalog (`locales/{code}/*.ftl`) exist in exactly these three.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    Ja,
    #[default]
    En,
    Ko,
}

impl Locale {
    pub const ALL: [Locale; 3] = [Locale::Ja, Locale::En, Locale::Ko];

    /// BCP 47 tag, also the folder name under `locales/` and the `<html lang>`.
    pub const fn code(self) -> &'static str {
        match self {
            Locale::Ja => "ja",
            Locale::En => "en",
            Locale::Ko => "ko",
        }
    }

    /// The language's name in itself, for the language switcher.
    pub const fn native_name(self) -> &'static str {
        match self {
            Locale::Ja => "日本語",
            Locale::En => "English",
            Locale::Ko => "한국어",
        }
    }

    /// Matches a language tag such as `ja`, `ja-JP`, `EN_us` or `ko-KR` by its
    /// primary subtag.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Locale::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// Explicit choice (the `lang` cookie) wins, then the browser's
    /// `Accept-Language` by descending quality, then English.
    pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Locale {
        if let Some(locale) = explicit.and_then(Locale::from_tag) {
            return locale;
        }
        accept_language.and_then(best_from_accept_language).unwrap_or_default()
    }
}

/// Picks the supported language with the highest q-value; ties keep header order.
fn best_from_accept_language(header: &str) -> Option<Locale> {
    let mut best: Option<(u16, Locale)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let Some(locale) = parts.next().and_then(Locale::from_tag) else {
            continue;
        };
        let quality = parts.find_map(|p| p.trim().strip_prefix("q=")).map(parse_quality).unwrap_or(Some(1000));
        let Some(quality) = quality else { continue };
        if quality > 0 && best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, locale));
        }
    }
    best.map(|(_, l)| l)
}

/// q-values have at most three decimals (RFC 9110): parse to thousandths, no floats.
fn parse_quality(q: &str) -> Option<u16> {
    let q = q.trim();
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let frac_val: u16 = format!("{frac:0<3}").parse().ok()?;
    let value = int * 1000 + frac_val;
    (value <= 1000).then_some(value)
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unsupported language: {0}")]
pub struct UnsupportedLocale(pub String);

impl FromStr for Locale {
    type Err = UnsupportedLocale;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Locale::ALL.into_iter().find(|l| l.code() == s).ok_or_else(|| UnsupportedLocale(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_choice_wins_over_browser() {
        assert_eq!(Locale::negotiate(Some("ko"), Some("ja,en;q=0.5")), Locale::Ko);
    }

    #[test]
    fn unknown_explicit_choice_falls_back_to_browser() {
        assert_eq!(Locale::negotiate(Some("fr"), Some("ja-JP")), Locale::Ja);
    }

    #[test]
    fn accept_language_by_quality_not_order() {
        let header = "fr-CH, fr;q=0.9, en;q=0.4, ko-KR;q=0.8, ja;q=0.7";
        assert_eq!(Locale::negotiate(None, Some(header)), Locale::Ko);
    }

    #[test]
    fn accept_language_ties_keep_order() {
        assert_eq!(Locale::negotiate(None, Some("ja, ko")), Locale::Ja);
    }

    #[test]
    fn zero_quality_means_not_acceptable() {
        assert_eq!(Locale::negotiate(None, Some("ja;q=0, ko;q=0.1")), Locale::Ko);
    }

    #[test]
    fn malformed_quality_is_ignored() {
        assert_eq!(Locale::negotiate(None, Some("ja;q=2, ko;q=0.1234, en-GB;q=0.5")), Locale::En);
    }

    #[test]
    fn defaults_to_english() {
        assert_eq!(Locale::negotiate(None, None), Locale::En);
        assert_eq!(Locale::negotiate(None, Some("de, fr")), Locale::En);
        assert_eq!(Locale::negotiate(None, Some("")), Locale::En);
    }

    #[test]
    fn parses_only_exact_codes() {
        assert_eq!("ja".parse::<Locale>(), Ok(Locale::Ja));
        assert!("JA".parse::<Locale>().is_err());
        assert!("ja-JP".parse::<Locale>().is_err());
    }
}

//! Payment link rules: product names and public slugs.

use super::fields::FieldError;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

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

#[cfg(test)]
mod tests {
    #[test]
    fn consecutive_days_cross_month_ends() {
        assert_eq!(days_from("2026-02-27", 3), ["2026-02-27", "2026-02-28", "2026-03-01"]);
        assert!(days_from("nope", 3).is_empty());
    }

    #[test]
    fn people_read_times_in_jst() {
        // 2026-11-30T15:04:05Z is past midnight in Tokyo.
        let ms = 1_796_051_045_000;
        assert_eq!(rfc3339(ms), "2026-11-30T15:04:05Z");
        assert_eq!(display_datetime(ms, false), "2026-12-01 00:04");
        assert_eq!(display_datetime(ms, true), "2026-12-01 00:04:05");
    }

    use super::*;

    #[test]
    fn api_times_take_any_rfc3339_offset() {
        let utc = parse_local_datetime("2026-12-31T15:00:00", 0).unwrap();
        for text in [
            "2026-12-31T15:00:00Z",
            "2026-12-31T15:00:00z",
            "2026-12-31t15:00:00Z",
            "2026-12-31T15:00:00.250Z",
            "2026-12-31T15:00:00+00:00",
            "2027-01-01T00:00:00+09:00",
            "2026-12-31T10:00:00-05:00",
            "2026-12-31T20:30:00+05:30",
            "2026-12-31T15:00:00-00:00",
        ] {
            let (local, offset) = rfc3339_to_input(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(parse_local_datetime(&local, offset), Some(utc), "{text}");
        }
        for bad in [
            "2026-12-31T15:00:00",
            "2026-12-31T15:00Z",
            "2026-12-31 15:00:00Z",
            "2026-12-31T15:00:00+9:00",
            "2026-12-31T15:00:00+24:00",
            "2026-12-31T15:00:00+09:60",
            "2026-12-31T15:00:00*09:00",
            "2026-12-31T15:00:00.Z",
            "2026-02-30T15:00:00Z",
            "tomorrow",
            "",
            "+09:00",
            "\u{80}\u{80}\u{80}",
            "2026-12-31T15:00:00+０9:00",
            "２０２６-12-31T15:00:00Z",
            "2026-12-31T15:00:00Z\u{300}",
        ] {
            assert_eq!(rfc3339_to_input(bad), None, "{bad}");
        }
    }

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
}

pub use input::*;

mod input {
    use super::super::fields::{self, FieldError};
    use super::super::money::{Currency, Money};
    use super::super::time_zone::TimeZone;
    use super::super::{Locale, Mode};
    use super::ProductName;
    use serde::{Deserialize, Serialize};

    pub const DESCRIPTION_MAX: usize = 5_000;
    /// When the form gives no time zone (JavaScript off), times are Japan's.
    pub const DEFAULT_TZ_OFFSET_MINUTES: i64 = 9 * 60;

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

    /// A link as the dashboard shows it.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct LinkView {
        pub id: i64,
        pub slug: String,
        pub url: String,
        pub mode: Mode,
        pub name: String,
        pub description: String,
        pub amount: i64,
        pub currency: Currency,
        pub language: Locale,
        pub status: LinkStatus,
        pub availability: Availability,
        pub usage_limit: Option<i64>,
        pub expires_at: Option<i64>,
        /// Captures ever made, the usage limit's count (a refund gives none back).
        pub captured_count: i64,
        /// Live mode, limited link: units held for customers paying on
        /// KOMOJU's page right now (they come back if the customer does not pay).
        pub reserved_count: i64,
        /// The Total Sales Summary's "captured payments": captured and not
        /// since refunded or charged back.
        pub captured_payments: i64,
        pub created_at: i64,
        /// `/img/{sha256}` of the product image, if any.
        pub image_url: Option<String>,
    }

    /// One page of the links list; `next` continues after the last row.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct LinkPage {
        pub links: Vec<LinkView>,
        pub next: Option<String>,
    }

    /// The link form as typed (all text); missing fields are empty.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct LinkInput {
        pub name: String,
        pub description: String,
        /// The price in the currency's smallest unit (`1050` is $10.50).
        pub amount: String,
        pub currency: String,
        pub language: String,
        pub status: String,
        pub usage_limit: String,
        /// `YYYY-MM-DDTHH:MM` as an `<input type="datetime-local">` sends it.
        pub expires_at: String,
        /// Minutes east of UTC the expiry is written in (the REST API's RFC 3339
        /// offset); empty: the merchant's time zone.
        pub tz_offset: String,
        /// Content hash of an image uploaded by this merchant; empty for none.
        pub image: String,
    }

    /// The editable fields, checked.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct LinkFields {
        pub name: ProductName,
        pub description: String,
        pub language: Locale,
        pub status: LinkStatus,
        pub usage_limit: Option<i64>,
        pub expires_at: Option<i64>,
    }

    pub type FieldResult<T> = Result<T, (&'static str, FieldError)>;

    impl LinkInput {
        pub fn money(&self) -> FieldResult<Money> {
            let currency: Currency = self.currency.trim().parse().map_err(|_| ("currency", FieldError::NotAllowed))?;
            Money::parse_minor(&self.amount, currency).map_err(|e| ("amount", e.field_error(currency)))
        }

        /// Checks every editable field. `language` defaults to `fallback_language`
        /// and `status` to active when left empty (the Quick Payment Link form);
        /// an expiry without an offset is a time in the merchant's `zone`.
        pub fn fields(&self, fallback_language: Locale, zone: TimeZone, now_ms: i64) -> FieldResult<LinkFields> {
            let name = ProductName::parse(&self.name).map_err(|e| ("name", e))?;
            let description = fields::optional_text(&self.description, DESCRIPTION_MAX, true).map_err(|e| ("description", e))?.unwrap_or_default();
            let language = match self.language.trim() {
                "" => fallback_language,
                code => code.parse().map_err(|_| ("language", FieldError::NotAllowed))?,
            };
            let status = match self.status.trim() {
                "" => LinkStatus::Active,
                s => LinkStatus::parse(s).ok_or(("status", FieldError::NotAllowed))?,
            };
            let usage_limit = match self.usage_limit.trim() {
                "" => None,
                s => Some(s.parse::<i64>().ok().filter(|n| (1..=1_000_000_000).contains(n)).ok_or(("usage_limit", FieldError::NumberInvalid))?),
            };
            let expires_at = match self.expires_at.trim() {
                "" => None,
                s => {
                    let at = match self.tz_offset.trim() {
                        // The dashboard's form: the merchant's own clock.
                        "" => zone.to_utc(s),
                        o => {
                            let offset = o.parse::<i64>().ok().filter(|o| (-14 * 60..=14 * 60).contains(o)).ok_or(("expires_at", FieldError::DateInvalid))?;
                            parse_local_datetime(s, offset)
                        }
                    }
                    .ok_or(("expires_at", FieldError::DateInvalid))?;
                    if at <= now_ms {
                        return Err(("expires_at", FieldError::DateInPast));
                    }
                    Some(at)
                }
            };
            Ok(LinkFields { name, description, language, status, usage_limit, expires_at })
        }
    }

    /// `YYYY-MM-DDTHH:MM[:SS]` at `offset_minutes` east of UTC → Unix milliseconds.
    pub fn parse_local_datetime(text: &str, offset_minutes: i64) -> Option<i64> {
        let (date, time) = text.split_once('T')?;
        let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
        let (year, month, day) = (d.next()??, d.next()??, d.next()??);
        let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
        let (hour, minute) = (t.next()??, t.next()??);
        let second = t.next().flatten().unwrap_or(0);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
            2 => 28,
            _ => return None,
        };
        let valid = (1970..=9999).contains(&year)
            && (1..=days_in_month).contains(&day)
            && (0..24).contains(&hour)
            && (0..60).contains(&minute)
            && (0..60).contains(&second)
            && date.len() == 10;
        if !valid {
            return None;
        }
        let days = days_from_civil(year, month, day);
        Some(((days * 86_400 + hour * 3_600 + minute * 60 + second) - offset_minutes * 60) * 1000)
    }

    /// RFC 3339 in UTC with seconds (`2026-11-24T09:30:00Z`), as the API speaks.
    pub fn rfc3339(ms: i64) -> String {
        format!("{}:{:02}Z", format_local_datetime(ms, 0), ms.div_euclid(1000).rem_euclid(60))
    }

    /// An RFC 3339 timestamp (`Z` or any `±HH:MM` offset, optional
    /// fraction) → the form's `YYYY-MM-DDTHH:MM:SS` and its offset in minutes
    /// east of UTC; `None` for anything else.
    pub fn rfc3339_to_input(text: &str) -> Option<(String, i64)> {
        let text = text.trim().to_ascii_uppercase();
        // Byte offsets below are character offsets only in ASCII.
        if !text.is_ascii() {
            return None;
        }
        let (local, offset) = if let Some(local) = text.strip_suffix('Z') {
            (local, 0)
        } else {
            let (local, zone) = text.split_at(text.len().checked_sub(6)?);
            let (sign, hh_mm) = zone.split_at(1);
            let (hh, mm) = hh_mm.split_once(':')?;
            let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(hh) || !digits(mm) {
                return None;
            }
            let (hh, mm): (i64, i64) = (hh.parse().ok()?, mm.parse().ok()?);
            if hh > 23 || mm > 59 {
                return None;
            }
            let minutes = hh * 60 + mm;
            match sign {
                "+" => (local, minutes),
                "-" => (local, -minutes),
                _ => return None,
            }
        };
        let whole = local.split_once('.').map_or(
            local,
            |(whole, fraction)| {
                if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) {
                    whole
                } else {
                    ""
                }
            },
        );
        (whole.len() == 19 && parse_local_datetime(whole, offset).is_some()).then(|| (whole.to_owned(), offset))
    }

    /// For people, in the dashboard's time zone (JST, as the filters):
    /// `YYYY-MM-DD HH:MM`, with `:SS` when `seconds` (delivery logs).
    pub fn display_datetime(ms: i64, seconds: bool) -> String {
        let minutes = format_local_datetime(ms, DEFAULT_TZ_OFFSET_MINUTES).replace('T', " ");
        if seconds {
            format!("{minutes}:{:02}", ms.div_euclid(1000).rem_euclid(60))
        } else {
            minutes
        }
    }

    /// Inverse of [`parse_local_datetime`], for pre-filling the form.
    pub fn format_local_datetime(ms: i64, offset_minutes: i64) -> String {
        let secs = ms.div_euclid(1000) + offset_minutes * 60;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}", rem / 3600, rem % 3600 / 60)
    }

    /// `n` consecutive calendar days (`YYYY-MM-DD`) starting at `first`.
    pub fn days_from(first: &str, n: usize) -> Vec<String> {
        let Some(start) = parse_local_datetime(&format!("{first}T00:00"), 0) else {
            return Vec::new();
        };
        (0..n as i64).map(|i| format_local_datetime(start + i * 86_400_000, 0)[..10].to_owned()).collect()
    }

    // Howard Hinnant's algorithms for the proleptic Gregorian calendar.
    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn civil_from_days(z: i64) -> (i64, i64, i64) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const NOW: i64 = 1_795_000_000_000; // 2026-11-18

        fn input() -> LinkInput {
            LinkInput { name: "Matcha".into(), amount: "1000".into(), currency: "JPY".into(), ..Default::default() }
        }

        #[test]
        fn quick_link_defaults() {
            let f = input().fields(Locale::Ko, TimeZone::Tokyo, NOW).unwrap();
            assert_eq!((f.language, f.status, f.usage_limit, f.expires_at), (Locale::Ko, LinkStatus::Active, None, None));
            assert_eq!(input().money().unwrap().minor(), 1000);
        }

        #[test]
        fn amount_errors_name_the_limits() {
            let low = LinkInput { amount: "49".into(), ..input() };
            assert_eq!(low.money(), Err(("amount", FieldError::AmountBelowMinimum { min: "¥50".into() })));
            let usd = LinkInput { amount: "100000000".into(), currency: "USD".into(), ..input() };
            assert_eq!(usd.money(), Err(("amount", FieldError::AmountAboveMaximum { max: "$999,999.99".into() })));
            let gbp = LinkInput { currency: "GBP".into(), ..input() };
            assert_eq!(gbp.money(), Err(("currency", FieldError::NotAllowed)));
            let frac = LinkInput { amount: "10.5".into(), ..input() };
            assert_eq!(frac.money(), Err(("amount", FieldError::AmountNotWhole { example: "1050 = ¥1,050".into() })));
            let cents = LinkInput { amount: "1050".into(), currency: "USD".into(), ..input() };
            assert_eq!(cents.money().map(|m| m.format(Locale::En)), Ok("$10.50".into()));
        }

        #[test]
        fn advanced_settings() {
            let ok = LinkInput { usage_limit: "10".into(), expires_at: "2027-01-31T23:59".into(), tz_offset: "540".into(), ..input() };
            // Without an offset (the dashboard's form) the merchant's zone decides.
            let zoned = LinkInput { expires_at: "2027-07-01T09:00".into(), ..input() };
            assert_eq!(zoned.fields(Locale::Ja, TimeZone::Tokyo, NOW).unwrap().expires_at, parse_local_datetime("2027-07-01T00:00", 0));
            assert_eq!(zoned.fields(Locale::Ja, TimeZone::NewYork, NOW).unwrap().expires_at, parse_local_datetime("2027-07-01T13:00", 0));
            let f = ok.fields(Locale::Ja, TimeZone::Tokyo, NOW).unwrap();
            assert_eq!(f.usage_limit, Some(10));
            assert_eq!(f.expires_at, Some(parse_local_datetime("2027-01-31T14:59", 0).unwrap()));
            for bad in ["0", "-1", "1.5", "ten", "99999999999"] {
                let i = LinkInput { usage_limit: bad.into(), ..input() };
                assert_eq!(i.fields(Locale::Ja, TimeZone::Tokyo, NOW), Err(("usage_limit", FieldError::NumberInvalid)), "{bad}");
            }
            let past = LinkInput { expires_at: "2020-01-01T00:00".into(), ..input() };
            assert_eq!(past.fields(Locale::Ja, TimeZone::Tokyo, NOW), Err(("expires_at", FieldError::DateInPast)));
            for bad in ["2027-02-30T10:00", "2027-13-01T10:00", "tomorrow", "2027-01-01", "2027-1-1T10:00"] {
                let i = LinkInput { expires_at: bad.into(), ..input() };
                assert_eq!(i.fields(Locale::Ja, TimeZone::Tokyo, NOW), Err(("expires_at", FieldError::DateInvalid)), "{bad}");
            }
        }

        #[test]
        fn dates_round_trip() {
            for text in ["2026-11-23T09:30", "2028-02-29T00:00", "1970-01-01T00:00"] {
                let ms = parse_local_datetime(text, 540).unwrap();
                assert_eq!(format_local_datetime(ms, 540), text);
            }
            assert_eq!(parse_local_datetime("1970-01-01T09:00", 540), Some(0));
        }

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

        #[test]
        fn bad_language_and_status() {
            let i = LinkInput { language: "fr".into(), ..input() };
            assert_eq!(i.fields(Locale::Ja, TimeZone::Tokyo, NOW), Err(("language", FieldError::NotAllowed)));
            let i = LinkInput { status: "deleted".into(), ..input() };
            assert_eq!(i.fields(Locale::Ja, TimeZone::Tokyo, NOW), Err(("status", FieldError::NotAllowed)));
        }
    }
}

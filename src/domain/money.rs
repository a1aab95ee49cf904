//! Money: an integer count of a currency's smallest unit. No floats anywhere.

use super::Locale;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Jpy,
    Usd,
    Eur,
    Krw,
    Twd,
}

impl Currency {
    pub const ALL: [Currency; 5] = [Currency::Jpy, Currency::Usd, Currency::Eur, Currency::Krw, Currency::Twd];

    pub const fn code(self) -> &'static str {
        match self {
            Currency::Jpy => "JPY",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Krw => "KRW",
            Currency::Twd => "TWD",
        }
    }

    /// ISO 4217 exponent: digits after the decimal point.
    pub const fn exponent(self) -> u32 {
        match self {
            Currency::Jpy | Currency::Krw => 0,
            Currency::Usd | Currency::Eur | Currency::Twd => 2,
        }
    }

    pub const fn symbol(self) -> &'static str {
        match self {
            Currency::Jpy => "¥",
            Currency::Usd => "$",
            Currency::Eur => "€",
            Currency::Krw => "₩",
            Currency::Twd => "NT$",
        }
    }

    /// Smallest charge, in minor units, like card processors require
    /// (¥50, $0.50, €0.50, ₩100, NT$10).
    pub const fn minimum(self) -> i64 {
        match self {
            Currency::Jpy => 50,
            Currency::Usd | Currency::Eur => 50,
            Currency::Krw => 100,
            Currency::Twd => 1_000,
        }
    }

    /// Largest charge, in minor units (¥9,999,999, $999,999.99, €999,999.99,
    /// ₩99,999,999, NT$9,999,999.99).
    pub const fn maximum(self) -> i64 {
        match self {
            Currency::Jpy => 9_999_999,
            Currency::Usd | Currency::Eur => 99_999_999,
            Currency::Krw => 99_999_999,
            Currency::Twd => 999_999_999,
        }
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        Currency::ALL.into_iter().find(|c| c.code() == s).ok_or(MoneyError::UnknownCurrency)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum MoneyError {
    #[error("not an amount")]
    Malformed,
    #[error("more decimals than the currency has")]
    TooPrecise,
    #[error("a comma that does not group thousands")]
    Ambiguous,
    #[error("a decimal point in a count of the smallest unit")]
    NotWhole,
    #[error("below the minimum")]
    BelowMinimum,
    #[error("above the maximum")]
    AboveMaximum,
    #[error("unknown currency")]
    UnknownCurrency,
}

impl MoneyError {
    /// The form error shown next to an amount input.
    pub fn field_error(self, currency: Currency) -> super::fields::FieldError {
        use super::fields::FieldError;
        match self {
            MoneyError::Malformed | MoneyError::UnknownCurrency => FieldError::AmountMalformed,
            MoneyError::TooPrecise => FieldError::AmountTooPrecise,
            MoneyError::Ambiguous => FieldError::AmountAmbiguous,
            MoneyError::NotWhole => FieldError::AmountNotWhole { example: Money::example(currency) },
            MoneyError::BelowMinimum => FieldError::AmountBelowMinimum { min: format_minor(currency.minimum(), currency, Locale::En) },
            MoneyError::AboveMaximum => FieldError::AmountAboveMaximum { max: format_minor(currency.maximum(), currency, Locale::En) },
        }
    }
}

/// A chargeable amount: within its currency's minimum and maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if minor < currency.minimum() {
            Err(MoneyError::BelowMinimum)
        } else if minor > currency.maximum() {
            Err(MoneyError::AboveMaximum)
        } else {
            Ok(Money { minor, currency })
        }
    }

    /// Parses a price as the dashboard asks for it: a whole number of the
    /// currency's smallest unit (`1050` is ¥1,050 or $10.50), optionally
    /// grouped by thousands (`1,050`); full-width digits are accepted. A
    /// decimal point is refused (the merchant is thinking in major units), and
    /// so is a comma that does not group thousands (`10,50`).
    pub fn parse_minor(input: &str, currency: Currency) -> Result<Money, MoneyError> {
        let text = normalize(input);
        if text.contains('.') {
            return Err(if text.contains(',') { MoneyError::Ambiguous } else { MoneyError::NotWhole });
        }
        let whole = ungroup(&text)?;
        Money::from_minor(whole_number(&whole)?, currency)
    }

    /// Parses an amount in major units: `1000` (yen), `10.50` (dollars),
    /// `1,000.50`; full-width digits are accepted. No signs, no exponents. A
    /// comma only groups thousands before the decimal point: `10,50` and
    /// `1.050,00` (a decimal comma) are refused as ambiguous, never guessed.
    pub fn parse(input: &str, currency: Currency) -> Result<Money, MoneyError> {
        let text = normalize(input);
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        if fraction.contains(',') {
            return Err(MoneyError::Ambiguous);
        }
        let whole = ungroup(whole)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(&whole) || (text.contains('.') && !digits(fraction)) {
            return Err(MoneyError::Malformed);
        }
        let exponent = currency.exponent() as usize;
        let significant = fraction.trim_end_matches('0');
        if significant.len() > exponent {
            return Err(MoneyError::TooPrecise);
        }
        let whole = whole_number(&whole)?;
        let fraction: i64 = if exponent == 0 { 0 } else { format!("{significant:0<exponent$}").parse().map_err(|_| MoneyError::Malformed)? };
        let minor = whole.checked_mul(10_i64.pow(exponent as u32)).and_then(|w| w.checked_add(fraction)).ok_or(MoneyError::AboveMaximum)?;
        Money::from_minor(minor, currency)
    }

    pub const fn minor(self) -> i64 {
        self.minor
    }

    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// The amount as a merchant types it in major units (`1000`, `10.50`):
    /// the inverse of `parse`.
    pub fn to_input(self) -> String {
        major_units(self.minor, self.currency, false)
    }

    /// How a price is typed in the smallest unit, shown in hints and errors:
    /// `1050 = $10.50`, `1050 = ¥1,050`.
    pub fn example(currency: Currency) -> String {
        format!("1050 = {}", format_minor(1050, currency, Locale::En))
    }

    pub fn format(self, locale: Locale) -> String {
        format_minor(self.minor, self.currency, locale)
    }
}

/// Trims and turns full-width digits and separators into ASCII.
fn normalize(input: &str) -> String {
    input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' => '.',
            '，' => ',',
            c => c,
        })
        .collect()
}

/// Removes thousands separators, which must sit between groups of exactly
/// three digits (`1,050`, `12,345,678`); any other comma makes the text
/// ambiguous (`10,50` may be a decimal comma).
fn ungroup(text: &str) -> Result<String, MoneyError> {
    if !text.contains(',') {
        return Ok(text.to_owned());
    }
    let mut groups = text.split(',');
    let first = groups.next().unwrap_or_default();
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if first.is_empty() || first.len() > 3 || !is_digits(first) {
        return Err(if is_digits(first) && !first.is_empty() { MoneyError::Ambiguous } else { MoneyError::Malformed });
    }
    let mut whole = first.to_owned();
    for group in groups {
        if !is_digits(group) {
            return Err(MoneyError::Malformed);
        }
        if group.len() != 3 {
            return Err(MoneyError::Ambiguous);
        }
        whole.push_str(group);
    }
    Ok(whole)
}

/// A non-empty run of ASCII digits as a number; too many digits cannot be a
/// valid amount, so they are refused before any arithmetic.
fn whole_number(digits: &str) -> Result<i64, MoneyError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::Malformed);
    }
    if digits.trim_start_matches('0').len() > 15 {
        return Err(MoneyError::AboveMaximum);
    }
    digits.parse().map_err(|_| MoneyError::Malformed)
}

/// Formats any count of minor units (totals may exceed a single charge's
/// maximum, or be zero): `¥1,000`, `$10.00`, `₩10,000`, `NT$10.00`.
pub fn format_minor(minor: i64, currency: Currency, _locale: Locale) -> String {
    // ja, en and ko all group by thousands with "," and use "." for decimals;
    // the locale is taken so a future locale can differ.
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}{}", currency.symbol(), major_units(minor.unsigned_abs() as i64, currency, true))
}

/// `minor` in major units as typed in a form ("10.50"), optionally grouped ("1,000").
pub fn major_units(minor: i64, currency: Currency, grouped: bool) -> String {
    let exponent = currency.exponent();
    let divisor = 10_i64.pow(exponent);
    let whole = minor / divisor;
    let fraction = minor % divisor;
    let mut whole_text = whole.to_string();
    if grouped {
        let bytes: Vec<char> = whole_text.chars().collect();
        whole_text =
            bytes.iter().enumerate().map(|(i, c)| if i > 0 && (bytes.len() - i).is_multiple_of(3) { format!(",{c}") } else { c.to_string() }).collect();
    }
    if exponent == 0 {
        whole_text
    } else {
        format!("{whole_text}.{fraction:0width$}", width = exponent as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Currency::*;

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Money::parse("1000", Jpy).unwrap().minor(), 1000);
        assert_eq!(Money::parse("10.50", Usd).unwrap().minor(), 1050);
        assert_eq!(Money::parse("10.5", Eur).unwrap().minor(), 1050);
        assert_eq!(Money::parse("10", Usd).unwrap().minor(), 1000);
        assert_eq!(Money::parse("10000", Krw).unwrap().minor(), 10000);
        assert_eq!(Money::parse("10", Twd).unwrap().minor(), 1000);
    }

    #[test]
    fn typing_conveniences() {
        assert_eq!(Money::parse(" 1,000 ", Jpy).unwrap().minor(), 1000);
        assert_eq!(Money::parse("１，０００", Jpy).unwrap().minor(), 1000);
        assert_eq!(Money::parse("1000.00", Jpy).unwrap().minor(), 1000, "zero decimals are harmless");
        assert_eq!(Money::parse("0010.50", Usd).unwrap().minor(), 1050);
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for bad in ["", " ", "-100", "+100", "1e3", "10.", ".5", "abc", "10 00", "0x10", "١٠٠", "NaN", "1.2.3"] {
            assert_eq!(Money::parse(bad, Usd), Err(MoneyError::Malformed), "{bad:?}");
        }
        assert_eq!(Money::parse("1000.5", Jpy), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("10.505", Usd), Err(MoneyError::TooPrecise));
    }

    #[test]
    fn prices_are_typed_in_the_smallest_unit() {
        assert_eq!(Money::parse_minor("1050", Usd).unwrap().format(Locale::En), "$10.50");
        assert_eq!(Money::parse_minor("1050", Jpy).unwrap().format(Locale::En), "¥1,050");
        assert_eq!(Money::parse_minor("1050", Krw).unwrap().format(Locale::En), "₩1,050");
        assert_eq!(Money::parse_minor("１，０５０", Eur).unwrap().minor(), 1050, "full width");
        assert_eq!(Money::parse_minor(" 12,345 ", Twd).unwrap().minor(), 12345);
        for currency in Currency::ALL {
            // `1,050` can only be grouping: the smallest unit has no decimals.
            assert_eq!(Money::parse_minor("1,050", currency).map(Money::minor), Ok(1050), "{currency}");
            assert_eq!(Money::parse_minor("10,50", currency), Err(MoneyError::Ambiguous), "{currency}");
            assert_eq!(Money::parse_minor("1.050,00", currency), Err(MoneyError::Ambiguous), "{currency}");
            assert_eq!(Money::parse_minor("10.50", currency), Err(MoneyError::NotWhole), "{currency}");
            assert_eq!(Money::parse_minor("1050.00", currency), Err(MoneyError::NotWhole), "{currency}");
            assert_eq!(Money::parse_minor("1,0500", currency), Err(MoneyError::Ambiguous), "{currency}");
            assert_eq!(Money::parse_minor("1,050,", currency), Err(MoneyError::Ambiguous), "{currency}");
            for bad in ["", ",050", "-1050", "+1050", "1e3", "abc", "10 50", "1,05a"] {
                assert_eq!(Money::parse_minor(bad, currency), Err(MoneyError::Malformed), "{bad:?} {currency}");
            }
        }
        assert_eq!(Money::parse_minor("49", Usd), Err(MoneyError::BelowMinimum));
        assert_eq!(Money::parse_minor("100000000", Usd), Err(MoneyError::AboveMaximum));
        assert_eq!(Money::parse_minor("99999999999999999999999", Jpy), Err(MoneyError::AboveMaximum), "no overflow");
    }

    #[test]
    fn commas_only_group_thousands_in_major_units() {
        for currency in Currency::ALL {
            let scale = 10_i64.pow(currency.exponent());
            assert_eq!(Money::parse("1,050", currency).map(Money::minor), Ok(1050 * scale), "{currency}");
            assert_eq!(Money::parse("10,50", currency), Err(MoneyError::Ambiguous), "{currency}: a decimal comma is never guessed");
            assert_eq!(Money::parse("1.050,00", currency), Err(MoneyError::Ambiguous), "{currency}");
            assert_eq!(Money::parse("1,05", currency), Err(MoneyError::Ambiguous), "{currency}");
        }
        assert_eq!(Money::parse("1,000.50", Usd).map(Money::minor), Ok(100_050));
        assert_eq!(Money::parse("12,345.6", Eur).map(Money::minor), Ok(1_234_560));
        assert_eq!(Money::parse("1,0,0", Jpy), Err(MoneyError::Ambiguous));
        assert_eq!(Money::parse(",100", Jpy), Err(MoneyError::Malformed));
    }

    #[test]
    fn examples_name_the_smallest_unit() {
        assert_eq!(Money::example(Usd), "1050 = $10.50");
        assert_eq!(Money::example(Jpy), "1050 = ¥1,050");
        assert_eq!(Money::example(Krw), "1050 = ₩1,050");
    }

    #[test]
    fn limits_per_currency() {
        assert_eq!(Money::parse("49", Jpy), Err(MoneyError::BelowMinimum));
        assert_eq!(Money::parse("0", Jpy), Err(MoneyError::BelowMinimum));
        assert!(Money::parse("50", Jpy).is_ok());
        assert_eq!(Money::parse("0.49", Usd), Err(MoneyError::BelowMinimum));
        assert_eq!(Money::parse("99", Krw), Err(MoneyError::BelowMinimum));
        assert_eq!(Money::parse("9.99", Twd), Err(MoneyError::BelowMinimum));
        assert!(Money::parse("9999999", Jpy).is_ok());
        assert_eq!(Money::parse("10000000", Jpy), Err(MoneyError::AboveMaximum));
        assert_eq!(Money::parse("99999999999999999999999", Jpy), Err(MoneyError::AboveMaximum), "no overflow");
        assert_eq!(Money::from_minor(i64::MAX, Usd), Err(MoneyError::AboveMaximum));
        assert_eq!(Money::from_minor(-50, Usd), Err(MoneyError::BelowMinimum));
    }

    #[test]
    fn formatting() {
        let f = |minor, c| format_minor(minor, c, Locale::Ja);
        assert_eq!(f(1000, Jpy), "¥1,000");
        assert_eq!(f(1000, Usd), "$10.00");
        assert_eq!(f(10000, Krw), "₩10,000");
        assert_eq!(f(99_999_999, Eur), "€999,999.99");
        assert_eq!(f(1005, Twd), "NT$10.05");
        assert_eq!(f(0, Usd), "$0.00");
        assert_eq!(f(-1050, Usd), "-$10.50");
        assert_eq!(f(1_234_567, Jpy), "¥1,234,567");
        for locale in Locale::ALL {
            assert_eq!(Money::parse("1000", Jpy).unwrap().format(locale), "¥1,000");
        }
    }

    #[test]
    fn input_round_trips() {
        for (text, currency) in [("1000", Jpy), ("10.50", Usd), ("10.05", Twd), ("10000", Krw)] {
            let money = Money::parse(text, currency).unwrap();
            assert_eq!(money.to_input(), text);
            assert_eq!(Money::parse(&money.to_input(), currency), Ok(money));
        }
    }

    #[test]
    fn currency_codes() {
        assert_eq!("JPY".parse::<Currency>(), Ok(Jpy));
        assert_eq!("jpy".parse::<Currency>(), Err(MoneyError::UnknownCurrency));
        assert_eq!("GBP".parse::<Currency>(), Err(MoneyError::UnknownCurrency));
    }
}

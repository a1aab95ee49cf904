//! What a customer types into the payment form, parsed; and the test-mode
//! simulator's answers to KOMOJU's documented test cards.
//!
//! A [`CardNumber`] lives only for the request: what is kept is a
//! [`CardSummary`] (brand, last 4 digits, expiry). The number and CVC are
//! never stored, logged or echoed back.

use super::fields::FieldError;
use super::payment::DeclineReason;
use serde::{Deserialize, Serialize};
use std::fmt;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardBrand {
    Visa,
    Mastercard,
    Jcb,
    Amex,
    Diners,
    Other,
}

impl CardBrand {
    pub const fn as_str(self) -> &'static str {
        match self {
            CardBrand::Visa => "visa",
            CardBrand::Mastercard => "mastercard",
            CardBrand::Jcb => "jcb",
            CardBrand::Amex => "amex",
            CardBrand::Diners => "diners",
            CardBrand::Other => "other",
        }
    }

    pub const fn display_name(self) -> &'static str {
        match self {
            CardBrand::Visa => "Visa",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Jcb => "JCB",
            CardBrand::Amex => "American Express",
            CardBrand::Diners => "Diners Club",
            CardBrand::Other => "Card",
        }
    }

    pub fn parse(input: &str) -> CardBrand {
        [CardBrand::Visa, CardBrand::Mastercard, CardBrand::Jcb, CardBrand::Amex, CardBrand::Diners]
            .into_iter()
            .find(|b| b.as_str() == input)
            .unwrap_or(CardBrand::Other)
    }

    fn of(digits: &str) -> CardBrand {
        let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
        match () {
            _ if digits.starts_with('4') => CardBrand::Visa,
            _ if (51..=55).contains(&prefix(2)) || (2221..=2720).contains(&prefix(4)) => CardBrand::Mastercard,
            _ if (3528..=3589).contains(&prefix(4)) => CardBrand::Jcb,
            _ if matches!(prefix(2), 34 | 37) => CardBrand::Amex,
            _ if matches!(prefix(2), 36 | 38 | 39) || (300..=305).contains(&prefix(3)) => CardBrand::Diners,
            _ => CardBrand::Other,
        }
    }
}

/// A Luhn-valid card number of 12–19 digits (spaces and dashes allowed when typed).
pub struct CardNumber(String);

impl CardNumber {
    pub fn parse(input: &str) -> Result<CardNumber, FieldError> {
        let compact: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if compact.is_empty() {
            return Err(FieldError::Required);
        }
        if !compact.bytes().all(|b| b.is_ascii_digit()) || !(12..=19).contains(&compact.len()) || !luhn(&compact) {
            return Err(FieldError::CardNumberInvalid);
        }
        Ok(CardNumber(compact))
    }

    pub fn brand(&self) -> CardBrand {
        CardBrand::of(&self.0)
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

/// Never print a card number, not even by accident in a log line.
impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(…{})", self.last4())
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Expiry month as typed: `MM/YY`, `MM / YY` or `MM/YYYY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardExpiry {
    pub month: u8,
    pub year: u16,
}

impl CardExpiry {
    /// `today` is (year, month): a card is valid through the end of its month.
    pub fn parse(input: &str, today: (u16, u8)) -> Result<CardExpiry, FieldError> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err(FieldError::Required);
        }
        let (mm, yy) = compact.split_once('/').ok_or(FieldError::CardExpiryInvalid)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(mm) || !digits(yy) || mm.len() > 2 || !(yy.len() == 2 || yy.len() == 4) {
            return Err(FieldError::CardExpiryInvalid);
        }
        let month: u8 = mm.parse().map_err(|_| FieldError::CardExpiryInvalid)?;
        let year: u16 = match yy.len() {
            2 => 2000 + yy.parse::<u16>().map_err(|_| FieldError::CardExpiryInvalid)?,
            _ => yy.parse().map_err(|_| FieldError::CardExpiryInvalid)?,
        };
        if !(1..=12).contains(&month) || year > today.0 + 30 {
            return Err(FieldError::CardExpiryInvalid);
        }
        if (year, month) < today {
            return Err(FieldError::CardExpired);
        }
        Ok(CardExpiry { month, year })
    }

    pub fn display(&self) -> String {
        format!("{:02}/{:02}", self.month, self.year % 100)
    }
}

/// Security code: 3 digits, 4 for American Express.
pub fn check_cvc(input: &str, brand: CardBrand) -> Result<(), FieldError> {
    let cvc = input.trim();
    if cvc.is_empty() {
        return Err(FieldError::Required);
    }
    let len = if brand == CardBrand::Amex { 4 } else { 3 };
    if cvc.len() != len || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::CardCvcInvalid);
    }
    Ok(())
}

/// What the payment keeps of a card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    pub brand: CardBrand,
    pub last4: String,
    pub expiry: String,
}

impl CardSummary {
    pub fn of(number: &CardNumber, expiry: CardExpiry) -> CardSummary {
        CardSummary { brand: number.brand(), last4: number.last4().to_owned(), expiry: expiry.display() }
    }
}

/// The test-mode simulator: KOMOJU's documented test numbers and their
/// outcomes. Any other number is refused, so a real card never "succeeds" in
/// test mode.
pub fn simulate(number: &CardNumber) -> Result<(), DeclineReason> {
    match number.0.as_str() {
        "4111111111111111" | "5555555555554444" | "3530111333300000" | "378282246310005" | "30569309025904" => Ok(()),
        "4123111111111000" => Err(DeclineReason::InsufficientFunds),
        "4123111111111018" => Err(DeclineReason::OverLimit),
        "4123111111111034" => Err(DeclineReason::BadCvc),
        "4123111111111042" => Err(DeclineReason::ExpiredCard),
        "4123111111111059" => Err(DeclineReason::CardNotUsable),
        "4123111111111075" => Err(DeclineReason::InvalidCard),
        _ => Err(DeclineReason::TestCardRequired),
    }
}

/// Convenience stores where a konbini payment can be made.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KonbiniStore {
    SevenEleven,
    Lawson,
    FamilyMart,
    Ministop,
    DailyYamazaki,
    Seicomart,
}

impl KonbiniStore {
    pub const ALL: [KonbiniStore; 6] = [
        KonbiniStore::SevenEleven,
        KonbiniStore::Lawson,
        KonbiniStore::FamilyMart,
        KonbiniStore::Ministop,
        KonbiniStore::DailyYamazaki,
        KonbiniStore::Seicomart,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            KonbiniStore::SevenEleven => "seven_eleven",
            KonbiniStore::Lawson => "lawson",
            KonbiniStore::FamilyMart => "family_mart",
            KonbiniStore::Ministop => "ministop",
            KonbiniStore::DailyYamazaki => "daily_yamazaki",
            KonbiniStore::Seicomart => "seicomart",
        }
    }

    pub fn parse(input: &str) -> Option<KonbiniStore> {
        KonbiniStore::ALL.into_iter().find(|s| s.as_str() == input)
    }

    /// Localized name id (`locales/*/payments.ftl`).
    pub fn message_id(self) -> String {
        format!("konbini-{}", self.as_str().replace('_', "-"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_luhn_checked() {
        for good in ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "30569309025904"] {
            assert!(CardNumber::parse(good).is_ok(), "{good}");
        }
        assert_eq!(CardNumber::parse("4111111111111112").err(), Some(FieldError::CardNumberInvalid));
        assert_eq!(CardNumber::parse("41111111111a1111").err(), Some(FieldError::CardNumberInvalid));
        assert_eq!(CardNumber::parse("4242").err(), Some(FieldError::CardNumberInvalid));
        assert_eq!(CardNumber::parse("  ").err(), Some(FieldError::Required));
        assert_eq!(CardNumber::parse("１１１１").err(), Some(FieldError::CardNumberInvalid));
    }

    #[test]
    fn brands() {
        let brand = |n: &str| CardNumber::parse(n).unwrap().brand();
        assert_eq!(brand("4111111111111111"), CardBrand::Visa);
        assert_eq!(brand("5555555555554444"), CardBrand::Mastercard);
        assert_eq!(brand("3530111333300000"), CardBrand::Jcb);
        assert_eq!(brand("378282246310005"), CardBrand::Amex);
        assert_eq!(brand("30569309025904"), CardBrand::Diners);
    }

    #[test]
    fn debug_never_shows_the_number() {
        let n = CardNumber::parse("4111111111111111").unwrap();
        assert_eq!(format!("{n:?}"), "CardNumber(…1111)");
    }

    #[test]
    fn expiry() {
        let today = (2026, 11);
        assert_eq!(CardExpiry::parse("11/26", today), Ok(CardExpiry { month: 11, year: 2026 }));
        assert_eq!(CardExpiry::parse(" 1 / 2030 ", today), Ok(CardExpiry { month: 1, year: 2030 }));
        assert_eq!(CardExpiry::parse("10/26", today), Err(FieldError::CardExpired));
        assert_eq!(CardExpiry::parse("13/27", today), Err(FieldError::CardExpiryInvalid));
        assert_eq!(CardExpiry::parse("1227", today), Err(FieldError::CardExpiryInvalid));
        assert_eq!(CardExpiry::parse("12/99", today), Err(FieldError::CardExpiryInvalid)); // 2099: too far
        assert_eq!(CardExpiry::parse("", today), Err(FieldError::Required));
        assert_eq!(CardExpiry::parse("12/27", today).unwrap().display(), "12/27");
    }

    #[test]
    fn cvc() {
        assert!(check_cvc("123", CardBrand::Visa).is_ok());
        assert!(check_cvc("1234", CardBrand::Amex).is_ok());
        assert_eq!(check_cvc("1234", CardBrand::Visa), Err(FieldError::CardCvcInvalid));
        assert_eq!(check_cvc("12a", CardBrand::Visa), Err(FieldError::CardCvcInvalid));
        assert_eq!(check_cvc("", CardBrand::Visa), Err(FieldError::Required));
    }

    #[test]
    fn simulator_follows_the_documented_test_cards() {
        let sim = |n: &str| simulate(&CardNumber::parse(n).unwrap());
        for ok in ["4111111111111111", "5555555555554444", "3530111333300000"] {
            assert_eq!(sim(ok), Ok(()));
        }
        assert_eq!(sim("4123111111111000"), Err(DeclineReason::InsufficientFunds));
        assert_eq!(sim("4123111111111042"), Err(DeclineReason::ExpiredCard));
        assert_eq!(sim("4123111111111034"), Err(DeclineReason::BadCvc));
        assert_eq!(sim("4242424242424242"), Err(DeclineReason::TestCardRequired));
    }

    #[test]
    fn stores_round_trip() {
        for s in KonbiniStore::ALL {
            assert_eq!(KonbiniStore::parse(s.as_str()), Some(s));
        }
        assert_eq!(KonbiniStore::parse("7-11"), None);
    }
}

//! Parsed form fields: once built, a value is known to be valid.

use serde::{Deserialize, Serialize};

/// Why a field was refused. Each maps to a localized message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum FieldError {
    #[error("required")]
    Required,
    #[error("longer than {max} characters")]
    TooLong { max: u32 },
    #[error("shorter than {min} characters")]
    TooShort { min: u32 },
    #[error("not an email address")]
    InvalidEmail,
    #[error("too common a password")]
    CommonPassword,
    #[error("contains control characters")]
    ControlCharacters,
    #[error("not one of the allowed values")]
    NotAllowed,
    #[error("passwords do not match")]
    Mismatch,
    #[error("not a phone number")]
    InvalidPhone,
    #[error("not a web address")]
    InvalidUrl,
    #[error("wrong password")]
    WrongPassword,
    #[error("not an amount")]
    AmountMalformed,
    #[error("too many decimals for the currency")]
    AmountTooPrecise,
    #[error("a comma that does not group thousands")]
    AmountAmbiguous,
    #[error("not a whole number of the smallest unit ({example})")]
    AmountNotWhole { example: String },
    #[error("below the minimum {min}")]
    AmountBelowMinimum { min: String },
    #[error("above the maximum {max}")]
    AmountAboveMaximum { max: String },
    #[error("not a date and time")]
    DateInvalid,
    #[error("in the past")]
    DateInPast,
    #[error("not a whole number")]
    NumberInvalid,
    #[error("below the {captured} payments already captured")]
    LimitBelowCaptured { captured: i64 },
    #[error("a link with this name exists")]
    NameTaken,
    #[error("cannot be changed")]
    Immutable,
    #[error("empty file")]
    ImageEmpty,
    #[error("larger than 2 MB")]
    ImageTooLarge,
    #[error("not a JPG or PNG image")]
    ImageType,
    #[error("damaged image")]
    ImageCorrupt,
    #[error("image too large in pixels")]
    ImageDimensions,
    #[error("image storage quota of {max_mb} MB used up")]
    ImageQuota { max_mb: u32 },
    #[error("not a valid card number")]
    CardNumberInvalid,
    #[error("not a card expiry")]
    CardExpiryInvalid,
    #[error("card expired")]
    CardExpired,
    #[error("not a security code")]
    CardCvcInvalid,
    #[error("not a KOMOJU live key")]
    KomojuKeyInvalid,
    #[error("live mode needs an https:// address")]
    UrlNotHttps,
    #[error("an address inside the server's own network")]
    UrlPrivate,
    #[error("already {max} active keys")]
    TooManyKeys { max: u32 },
    #[error("the same as now")]
    Unchanged,
}

impl FieldError {
    pub fn message_id(&self) -> &'static str {
        match self {
            FieldError::Required => "error-required",
            FieldError::TooLong { .. } => "error-too-long",
            FieldError::TooShort { .. } => "error-too-short",
            FieldError::InvalidEmail => "error-email-invalid",
            FieldError::CommonPassword => "error-password-common",
            FieldError::ControlCharacters => "error-control-characters",
            FieldError::NotAllowed => "error-not-allowed",
            FieldError::Mismatch => "error-password-mismatch",
            FieldError::InvalidPhone => "error-phone-invalid",
            FieldError::InvalidUrl => "error-url-invalid",
            FieldError::WrongPassword => "error-password-wrong",
            FieldError::AmountMalformed => "error-amount-malformed",
            FieldError::AmountTooPrecise => "error-amount-too-precise",
            FieldError::AmountAmbiguous => "error-amount-ambiguous",
            FieldError::AmountNotWhole { .. } => "error-amount-not-whole",
            FieldError::AmountBelowMinimum { .. } => "error-amount-below-minimum",
            FieldError::AmountAboveMaximum { .. } => "error-amount-above-maximum",
            FieldError::DateInvalid => "error-date-invalid",
            FieldError::DateInPast => "error-date-in-past",
            FieldError::NumberInvalid => "error-number-invalid",
            FieldError::LimitBelowCaptured { .. } => "error-limit-below-captured",
            FieldError::NameTaken => "error-name-taken",
            FieldError::Immutable => "error-immutable",
            FieldError::ImageEmpty => "error-image-empty",
            FieldError::ImageTooLarge => "error-image-too-large",
            FieldError::ImageType => "error-image-type",
            FieldError::ImageCorrupt => "error-image-corrupt",
            FieldError::ImageDimensions => "error-image-dimensions",
            FieldError::ImageQuota { .. } => "error-image-quota",
            FieldError::CardNumberInvalid => "error-card-number",
            FieldError::CardExpiryInvalid => "error-card-expiry",
            FieldError::CardExpired => "error-card-expired",
            FieldError::CardCvcInvalid => "error-card-cvc",
            FieldError::KomojuKeyInvalid => "error-komoju-key",
            FieldError::UrlNotHttps => "error-url-https",
            FieldError::UrlPrivate => "error-url-private",
            FieldError::TooManyKeys { .. } => "error-too-many-keys",
            FieldError::Unchanged => "error-unchanged",
        }
    }
}

/// Trims, then checks length (in characters) and refuses control characters
/// (line breaks only where `multiline`).
pub fn text(input: &str, max: usize, multiline: bool) -> Result<String, FieldError> {
    let value = input.trim();
    if value.is_empty() {
        return Err(FieldError::Required);
    }
    optional_text(value, max, multiline).map(|v| v.unwrap_or_default())
}

/// Like [`text`] but an empty value is allowed (and becomes `None`).
pub fn optional_text(input: &str, max: usize, multiline: bool) -> Result<Option<String>, FieldError> {
    let value = input.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max {
        return Err(FieldError::TooLong { max: max as u32 });
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\r' || c == '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(FieldError::ControlCharacters);
    }
    Ok(Some(value.replace("\r\n", "\n")))
}

/// An email address, trimmed and lower-cased (the unique key of an account).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Email, FieldError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(FieldError::Required);
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(FieldError::TooLong { max: Self::MAX_LEN as u32 });
        }
        let value = value.to_lowercase();
        let (local, domain) = value.split_once('@').ok_or(FieldError::InvalidEmail)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Email(value))
        } else {
            Err(FieldError::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password good enough to set: 10–128 characters, not a well-known one.
/// (Checking a password at sign-in needs no rules: any text is compared.)
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// The most used passwords that pass the length rule, from public breach lists.
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "1q2w3e4r5t",
    "qwertyuiop",
    "0987654321",
    "1111111111",
    "0000000000",
    "password12",
    "password123",
    "password1234",
    "passw0rd12",
    "iloveyou12",
    "qwerty1234",
    "qwerty12345",
    "1qaz2wsx3edc",
    "abcdefghij",
    "abc1234567",
    "zaq12wsxcde",
    "football12",
    "baseball12",
    "princess12",
    "sunshine12",
    "welcome123",
    "letmein123",
    "monkey1234",
    "dragon1234",
    "superman12",
    "trustno1234",
    "administrator",
    "changeme123",
    "qazwsxedc123",
    "asdfghjkl1",
    "asdfghjkl;",
    "1234qwerty",
    "q1w2e3r4t5",
    "michael123",
    "charlie123",
    "shadow1234",
    "master1234",
    "whatever12",
    "computer12",
    "internet12",
    "starwars12",
    "paylinks123",
    "paylinks1234",
    "password!1",
    "p@ssw0rd12",
];

impl NewPassword {
    pub const MIN_LEN: usize = 10;
    pub const MAX_LEN: usize = 128;

    pub fn parse(input: &str) -> Result<NewPassword, FieldError> {
        if input.is_empty() {
            return Err(FieldError::Required);
        }
        let len = input.chars().count();
        if len < Self::MIN_LEN {
            return Err(FieldError::TooShort { min: Self::MIN_LEN as u32 });
        }
        if len > Self::MAX_LEN {
            return Err(FieldError::TooLong { max: Self::MAX_LEN as u32 });
        }
        if input.chars().any(char::is_control) {
            return Err(FieldError::ControlCharacters);
        }
        let lower = input.to_lowercase();
        let repeated = lower.chars().all(|c| lower.starts_with(c));
        if repeated || COMMON_PASSWORDS.contains(&lower.as_str()) {
            return Err(FieldError::CommonPassword);
        }
        Ok(NewPassword(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters: safe in
/// any part of a URL query.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(Email::parse("  Shop@Example.COM ").unwrap().as_str(), "shop@example.com");
        assert_eq!(Email::parse("a.b+tag@sub.example.co.jp").unwrap().as_str(), "a.b+tag@sub.example.co.jp");
    }

    #[test]
    fn malformed_emails_are_refused() {
        assert_eq!(Email::parse("   "), Err(FieldError::Required));
        for bad in ["plain", "@example.com", "a@", "a@b", "a@@b.com", "a b@c.com", "a@b..com", ".a@b.com", "a@-b.com", "a\n@b.com", "a@b.c om"] {
            assert_eq!(Email::parse(bad), Err(FieldError::InvalidEmail), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(FieldError::TooLong { max: 254 }));
    }

    #[test]
    fn password_rules() {
        assert_eq!(NewPassword::parse(""), Err(FieldError::Required));
        assert_eq!(NewPassword::parse("short1!"), Err(FieldError::TooShort { min: 10 }));
        assert_eq!(NewPassword::parse(&"x".repeat(129)), Err(FieldError::TooLong { max: 128 }));
        assert_eq!(NewPassword::parse("Password123"), Err(FieldError::CommonPassword));
        assert_eq!(NewPassword::parse("aaaaaaaaaaaa"), Err(FieldError::CommonPassword));
        assert_eq!(NewPassword::parse("tab\tinside pass"), Err(FieldError::ControlCharacters));
        assert!(NewPassword::parse("correct horse battery").is_ok());
        assert!(NewPassword::parse("パスワードは十文字以上です").is_ok());
    }

    #[test]
    fn password_debug_hides_it() {
        let p = NewPassword::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn text_fields() {
        assert_eq!(text("  Acme  ", 10, false).unwrap(), "Acme");
        assert_eq!(text(" ", 10, false), Err(FieldError::Required));
        assert_eq!(text("12345678901", 10, false), Err(FieldError::TooLong { max: 10 }));
        assert_eq!(text("日本語の店名", 6, false).unwrap(), "日本語の店名");
        assert_eq!(text("a\u{0}b", 10, false), Err(FieldError::ControlCharacters));
        assert_eq!(text("a\nb", 10, false), Err(FieldError::ControlCharacters));
        assert_eq!(text("a\r\nb", 10, true).unwrap(), "a\nb");
        assert_eq!(optional_text("  ", 10, false), Ok(None));
    }
}

//! A link's fields in every shape, in one place (a new field is added here
//! once): as the dashboard's form types them ([`LinkInput`]), as the commands
//! `server::links` takes ([`NewLink`], [`LinkPatch`], [`LinkDetails`]: they
//! cannot hold a bad value) and as the dashboard shows them ([`LinkView`]).
//! The form's text and the API's JSON (`server::wire::LinkFields`) each parse
//! into the commands with the field [`rules`] below, so the two agree.

use super::{Availability, LinkStatus, ProductName, DESCRIPTION_MAX};
use crate::domain::fields::{self, FieldError};
use crate::domain::money::{Currency, Money};
use crate::domain::time_zone::TimeZone;
use crate::domain::{Locale, Mode};
use serde::{Deserialize, Serialize};

/// A field's name and what is wrong with it.
pub type FieldResult<T> = Result<T, (&'static str, FieldError)>;

/// A product image, named by the SHA-256 of its content (64 lowercase hex digits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageHash(String);

impl ImageHash {
    pub fn parse(text: &str) -> Option<ImageHash> {
        let valid = text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| ImageHash(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Everything of a link but its price: what the merchant may change later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkDetails {
    pub name: ProductName,
    pub description: String,
    pub language: Locale,
    pub status: LinkStatus,
    /// At most this many captures (1 to 1,000,000,000).
    pub usage_limit: Option<i64>,
    /// Unix milliseconds; in the future when it was set.
    pub expires_at: Option<i64>,
    pub image: Option<ImageHash>,
}

/// A link to create: its price, fixed for good, and its details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLink {
    pub price: Money,
    pub details: LinkDetails,
}

/// A change to a link; `None` leaves a field as it is (`Some(None)` removes
/// a limit, an expiry or the image). The price cannot change: a patch that
/// names the amount or currency must name the link's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkPatch {
    pub name: Option<ProductName>,
    pub description: Option<String>,
    pub language: Option<Locale>,
    pub status: Option<LinkStatus>,
    pub usage_limit: Option<Option<i64>>,
    pub expires_at: Option<Option<i64>>,
    pub image: Option<Option<ImageHash>>,
    pub amount: Option<i64>,
    pub currency: Option<Currency>,
}

impl LinkPatch {
    /// `Immutable` when the patch names another amount or currency than `price`.
    pub fn check_price(&self, price: Money) -> FieldResult<()> {
        let other_amount = self.amount.is_some_and(|a| a != price.minor());
        let other_currency = self.currency.is_some_and(|c| c != price.currency());
        if other_amount || other_currency {
            return Err(("amount", FieldError::Immutable));
        }
        Ok(())
    }

    /// The details after this change.
    pub fn apply(self, to: LinkDetails) -> LinkDetails {
        LinkDetails {
            name: self.name.unwrap_or(to.name),
            description: self.description.unwrap_or(to.description),
            language: self.language.unwrap_or(to.language),
            status: self.status.unwrap_or(to.status),
            usage_limit: self.usage_limit.unwrap_or(to.usage_limit),
            expires_at: self.expires_at.unwrap_or(to.expires_at),
            image: self.image.unwrap_or(to.image),
        }
    }
}

/// The rules of each field, as the form and the API both apply them.
pub mod rules {
    use super::*;

    pub fn name(text: &str) -> FieldResult<ProductName> {
        ProductName::parse(text).map_err(|e| ("name", e))
    }

    pub fn description(text: &str) -> FieldResult<String> {
        Ok(fields::optional_text(text, DESCRIPTION_MAX, true).map_err(|e| ("description", e))?.unwrap_or_default())
    }

    /// One of ours; empty: `None`.
    pub fn language(code: &str) -> FieldResult<Option<Locale>> {
        match code.trim() {
            "" => Ok(None),
            code => code.parse().map(Some).map_err(|_| ("language", FieldError::NotAllowed)),
        }
    }

    /// `active` or `inactive`; empty: active.
    pub fn status(text: &str) -> FieldResult<LinkStatus> {
        match text.trim() {
            "" => Ok(LinkStatus::Active),
            s => LinkStatus::parse(s).ok_or(("status", FieldError::NotAllowed)),
        }
    }

    pub fn usage_limit(limit: i64) -> FieldResult<i64> {
        if (1..=1_000_000_000).contains(&limit) {
            Ok(limit)
        } else {
            Err(("usage_limit", FieldError::NumberInvalid))
        }
    }

    /// An expiry must lie ahead.
    pub fn expiry(at: i64, now_ms: i64) -> FieldResult<i64> {
        if at <= now_ms {
            return Err(("expires_at", FieldError::DateInPast));
        }
        Ok(at)
    }

    /// An image's hash; empty: none. Whether it is the merchant's own is the
    /// service's to check.
    pub fn image(text: &str) -> FieldResult<Option<ImageHash>> {
        match text.trim() {
            "" => Ok(None),
            sha => ImageHash::parse(sha).map(Some).ok_or(("image", FieldError::NotAllowed)),
        }
    }

    pub fn currency(code: &str) -> FieldResult<Currency> {
        code.trim().parse().map_err(|_| ("currency", FieldError::NotAllowed))
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
    /// `YYYY-MM-DDTHH:MM` as an `<input type="datetime-local">` sends it,
    /// in the merchant's time zone.
    pub expires_at: String,
    /// Content hash of an image uploaded by this merchant; empty for none.
    pub image: String,
}

impl LinkInput {
    pub fn money(&self) -> FieldResult<Money> {
        let currency = rules::currency(&self.currency)?;
        Money::parse_minor(&self.amount, currency).map_err(|e| ("amount", e.field_error(currency)))
    }

    /// The create forms (full and quick). `language` defaults to
    /// `fallback_language` and `status` to active when left empty (the Quick
    /// Payment Link form); an expiry without an offset is a time in the
    /// merchant's `zone`.
    pub fn new_link(&self, fallback_language: Locale, zone: TimeZone, now_ms: i64) -> FieldResult<NewLink> {
        let details = self.details(fallback_language, zone, now_ms)?;
        Ok(NewLink { price: self.money()?, details })
    }

    /// The edit form: it sends every detail, so an empty limit, expiry or
    /// image removes it (an empty language keeps the link's). It does not
    /// send the price; a request that does names it as a claim to check.
    pub fn patch(&self, zone: TimeZone, now_ms: i64) -> FieldResult<LinkPatch> {
        let amount = match self.amount.trim() {
            "" => None,
            text => Some(text.parse().map_err(|_| ("amount", FieldError::Immutable))?),
        };
        let currency = match self.currency.trim() {
            "" => None,
            code => Some(rules::currency(code)?),
        };
        let LinkDetails { name, description, status, usage_limit, expires_at, image, .. } = self.details(Locale::Ja, zone, now_ms)?;
        Ok(LinkPatch {
            name: Some(name),
            description: Some(description),
            language: rules::language(&self.language)?,
            status: Some(status),
            usage_limit: Some(usage_limit),
            expires_at: Some(expires_at),
            image: Some(image),
            amount,
            currency,
        })
    }

    /// Every detail, checked.
    pub fn details(&self, fallback_language: Locale, zone: TimeZone, now_ms: i64) -> FieldResult<LinkDetails> {
        let name = rules::name(&self.name)?;
        let description = rules::description(&self.description)?;
        let language = rules::language(&self.language)?.unwrap_or(fallback_language);
        let status = rules::status(&self.status)?;
        let usage_limit = match self.usage_limit.trim() {
            "" => None,
            s => Some(rules::usage_limit(s.parse::<i64>().map_err(|_| ("usage_limit", FieldError::NumberInvalid))?)?),
        };
        let expires_at = match self.expires_at.trim() {
            "" => None,
            s => {
                // The merchant's own clock, as the form shows it.
                let at = zone.to_utc(s).ok_or(("expires_at", FieldError::DateInvalid))?;
                Some(rules::expiry(at, now_ms)?)
            }
        };
        let image = rules::image(&self.image)?;
        Ok(LinkDetails { name, description, language, status, usage_limit, expires_at, image })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::link::parse_local_datetime;

    const NOW: i64 = 1_795_000_000_000; // 2026-11-18

    fn input() -> LinkInput {
        LinkInput { name: "Matcha".into(), amount: "1000".into(), currency: "JPY".into(), ..Default::default() }
    }

    #[test]
    fn quick_link_defaults() {
        let f = input().details(Locale::Ko, TimeZone::Tokyo, NOW).unwrap();
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
        let ok = LinkInput { usage_limit: "10".into(), expires_at: "2027-01-31T23:59".into(), ..input() };
        // Without an offset (the dashboard's form) the merchant's zone decides.
        let zoned = LinkInput { expires_at: "2027-07-01T09:00".into(), ..input() };
        assert_eq!(zoned.details(Locale::Ja, TimeZone::Tokyo, NOW).unwrap().expires_at, parse_local_datetime("2027-07-01T00:00", 0));
        assert_eq!(zoned.details(Locale::Ja, TimeZone::NewYork, NOW).unwrap().expires_at, parse_local_datetime("2027-07-01T13:00", 0));
        let f = ok.details(Locale::Ja, TimeZone::Tokyo, NOW).unwrap();
        assert_eq!(f.usage_limit, Some(10));
        assert_eq!(f.expires_at, Some(parse_local_datetime("2027-01-31T14:59", 0).unwrap()));
        for bad in ["0", "-1", "1.5", "ten", "99999999999"] {
            let i = LinkInput { usage_limit: bad.into(), ..input() };
            assert_eq!(i.details(Locale::Ja, TimeZone::Tokyo, NOW), Err(("usage_limit", FieldError::NumberInvalid)), "{bad}");
        }
        let past = LinkInput { expires_at: "2020-01-01T00:00".into(), ..input() };
        assert_eq!(past.details(Locale::Ja, TimeZone::Tokyo, NOW), Err(("expires_at", FieldError::DateInPast)));
        for bad in ["2027-02-30T10:00", "2027-13-01T10:00", "tomorrow", "2027-01-01", "2027-1-1T10:00"] {
            let i = LinkInput { expires_at: bad.into(), ..input() };
            assert_eq!(i.details(Locale::Ja, TimeZone::Tokyo, NOW), Err(("expires_at", FieldError::DateInvalid)), "{bad}");
        }
    }

    #[test]
    fn bad_language_and_status() {
        let i = LinkInput { language: "fr".into(), ..input() };
        assert_eq!(i.details(Locale::Ja, TimeZone::Tokyo, NOW), Err(("language", FieldError::NotAllowed)));
        let i = LinkInput { status: "deleted".into(), ..input() };
        assert_eq!(i.details(Locale::Ja, TimeZone::Tokyo, NOW), Err(("status", FieldError::NotAllowed)));
    }

    fn details() -> LinkDetails {
        input().details(Locale::Ja, TimeZone::Tokyo, NOW).unwrap()
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let limited = LinkDetails { usage_limit: Some(5), expires_at: Some(NOW + 1), image: ImageHash::parse(&"a".repeat(64)), ..details() };
        assert_eq!(LinkPatch::default().apply(limited.clone()), limited);
        let patch = LinkPatch { description: Some("Gift box".into()), usage_limit: Some(None), ..LinkPatch::default() };
        let changed = patch.apply(limited.clone());
        assert_eq!((changed.description.as_str(), changed.usage_limit), ("Gift box", None));
        assert_eq!((changed.name, changed.expires_at, changed.image), (limited.name, limited.expires_at, limited.image));
    }

    #[test]
    fn the_price_cannot_change() {
        let price = Money::from_minor(1000, Currency::Jpy).unwrap();
        let claim = |amount, currency| LinkPatch { amount, currency, ..LinkPatch::default() }.check_price(price);
        assert_eq!(claim(None, None), Ok(()));
        assert_eq!(claim(Some(1000), Some(Currency::Jpy)), Ok(()));
        assert_eq!(claim(Some(2000), None), Err(("amount", FieldError::Immutable)));
        assert_eq!(claim(None, Some(Currency::Usd)), Err(("amount", FieldError::Immutable)));
    }

    #[test]
    fn the_edit_form_sends_every_detail() {
        let form = LinkInput { language: String::new(), ..input() };
        let patch = form.patch(TimeZone::Tokyo, NOW).unwrap();
        // Empty limit, expiry and image remove them; an empty language keeps the link's.
        assert_eq!((patch.usage_limit, patch.expires_at, patch.image.clone(), patch.language), (Some(None), Some(None), Some(None), None));
        assert_eq!((patch.amount, patch.currency), (Some(1000), Some(Currency::Jpy)));
        let odd = LinkInput { amount: "lots".into(), ..input() };
        assert_eq!(odd.patch(TimeZone::Tokyo, NOW), Err(("amount", FieldError::Immutable)));
        let unknown = LinkInput { currency: "GBP".into(), ..input() };
        assert_eq!(unknown.patch(TimeZone::Tokyo, NOW), Err(("currency", FieldError::NotAllowed)));
    }

    #[test]
    fn images_are_named_by_their_hash() {
        assert!(ImageHash::parse(&"0123456789abcdef".repeat(4)).is_some());
        for bad in ["", "abc", &"A".repeat(64), &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(ImageHash::parse(bad), None, "{bad}");
        }
        assert_eq!(LinkInput { image: "../etc".into(), ..input() }.details(Locale::Ja, TimeZone::Tokyo, NOW), Err(("image", FieldError::NotAllowed)));
    }
}

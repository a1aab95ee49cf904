//! The customer's payment form: text in, a parsed payment request out.

use super::card::{check_cvc, CardExpiry, CardNumber, CardSummary, KonbiniStore};
use super::fields::{self, Email, FieldError};
use super::payment::Method;
use serde::{Deserialize, Serialize};

/// The form as posted; missing fields are empty. Field names are the inputs'
/// names (`pay[card_number]`, …).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PayForm {
    pub slug: String,
    pub token: String,
    pub method: String,
    pub lang: String,
    pub email: String,
    pub name: String,
    pub card_number: String,
    pub card_expiry: String,
    pub card_cvc: String,
    pub store: String,
}

/// Never let a card number or CVC reach a log line through `{:?}`.
impl std::fmt::Debug for PayForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayForm")
            .field("slug", &self.slug)
            .field("method", &self.method)
            .field("lang", &self.lang)
            .field("card_number", &"[redacted]")
            .field("card_cvc", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A parsed request. The card number is kept only for the connector's call
/// and dropped with this value.
#[derive(Debug)]
pub struct PayRequest {
    pub method: Method,
    pub email: String,
    pub name: Option<String>,
    pub card: Option<(CardNumber, CardSummary)>,
    pub store: Option<KonbiniStore>,
}

type FieldResult<T> = Result<T, (&'static str, FieldError)>;

impl PayForm {
    /// `today` is the current (year, month) for the card expiry check.
    pub fn parse(&self, today: (u16, u8)) -> FieldResult<PayRequest> {
        let method = Method::parse(self.method.trim()).ok_or(("method", FieldError::NotAllowed))?;
        let email = Email::parse(&self.email).map_err(|e| ("email", e))?.as_str().to_owned();
        let mut request = PayRequest { method, email, name: None, card: None, store: None };
        match method {
            Method::Card => {
                let number = CardNumber::parse(&self.card_number).map_err(|e| ("card_number", e))?;
                let expiry = CardExpiry::parse(&self.card_expiry, today).map_err(|e| ("card_expiry", e))?;
                check_cvc(&self.card_cvc, number.brand()).map_err(|e| ("card_cvc", e))?;
                request.name = Some(fields::text(&self.name, 100, false).map_err(|e| ("name", e))?);
                let summary = CardSummary::of(&number, expiry);
                request.card = Some((number, summary));
            }
            Method::Konbini => {
                request.store = Some(KonbiniStore::parse(self.store.trim()).ok_or(("store", FieldError::Required))?);
                request.name = fields::optional_text(&self.name, 100, false).map_err(|e| ("name", e))?;
            }
            // Live mode: KOMOJU's page asks for the rest.
            Method::Paypay | Method::Komoju => {}
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card_form() -> PayForm {
        PayForm {
            method: "card".into(),
            email: "taro@example.jp".into(),
            name: "TARO YAMADA".into(),
            card_number: "4111 1111 1111 1111".into(),
            card_expiry: "12/30".into(),
            card_cvc: "123".into(),
            ..PayForm::default()
        }
    }

    #[test]
    fn card_payment() {
        let request = card_form().parse((2026, 11)).unwrap();
        assert_eq!(request.method, Method::Card);
        let (_, summary) = request.card.unwrap();
        assert_eq!((summary.last4.as_str(), summary.expiry.as_str()), ("1111", "12/30"));
    }

    #[test]
    fn errors_name_their_field() {
        let with = |f: fn(&mut PayForm)| {
            let mut form = card_form();
            f(&mut form);
            form.parse((2026, 11)).err().map(|(field, _)| field)
        };
        assert_eq!(with(|f| f.method = "bitcoin".into()), Some("method"));
        assert_eq!(with(|f| f.email = "nope".into()), Some("email"));
        assert_eq!(with(|f| f.card_number = "4111111111111112".into()), Some("card_number"));
        assert_eq!(with(|f| f.card_expiry = "01/20".into()), Some("card_expiry"));
        assert_eq!(with(|f| f.card_cvc = "1".into()), Some("card_cvc"));
        assert_eq!(with(|f| f.name = " ".into()), Some("name"));
    }

    #[test]
    fn konbini_needs_a_store() {
        let mut form = PayForm { method: "konbini".into(), email: "a@b.jp".into(), ..PayForm::default() };
        assert_eq!(form.parse((2026, 11)).err(), Some(("store", FieldError::Required)));
        form.store = "lawson".into();
        assert_eq!(form.parse((2026, 11)).unwrap().store, Some(KonbiniStore::Lawson));
    }

    #[test]
    fn debug_redacts_the_card() {
        let text = format!("{:?}", card_form());
        assert!(!text.contains("4111") && !text.contains("123\""), "{text}");
    }
}

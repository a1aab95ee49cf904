//! The live-mode application: who the merchant is, and the disclosure Japan's
//! Specified Commercial Transactions Act (特定商取引法) requires of online sellers.

use super::fields::{self, FieldError};
use super::ApplicationStatus;
use serde::{Deserialize, Serialize};

/// What Japan's Specified Commercial Transactions Act asks a sale to state,
/// which a link's description must carry when the merchant's SCTA page does
/// not (quantity and application period are per product: always asked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SctaItem {
    Quantity,
    TaxInclusion,
    DeliveryTiming,
    Cancellation,
    ApplicationPeriod,
}

impl SctaItem {
    pub const ALL: [SctaItem; 5] = [SctaItem::Quantity, SctaItem::TaxInclusion, SctaItem::DeliveryTiming, SctaItem::Cancellation, SctaItem::ApplicationPeriod];

    pub const fn message_id(self) -> &'static str {
        match self {
            SctaItem::Quantity => "scta-item-quantity",
            SctaItem::TaxInclusion => "scta-item-tax",
            SctaItem::DeliveryTiming => "scta-item-delivery",
            SctaItem::Cancellation => "scta-item-cancellation",
            SctaItem::ApplicationPeriod => "scta-item-period",
        }
    }

    /// The SCTA page's field that covers this item for every product, if any.
    const fn page_field(self) -> Option<&'static str> {
        match self {
            SctaItem::TaxInclusion => Some("scta_pricing"),
            SctaItem::DeliveryTiming => Some("scta_delivery"),
            SctaItem::Cancellation => Some("scta_returns"),
            SctaItem::Quantity | SctaItem::ApplicationPeriod => None,
        }
    }

    /// The items a link's description should state, given the SCTA page.
    pub fn missing_from(page: &ApplicationForm) -> Vec<SctaItem> {
        SctaItem::ALL.into_iter().filter(|item| item.page_field().is_none_or(|field| page.get(field).trim().is_empty())).collect()
    }
}

/// The form as typed; every field is text (stored as typed, one column each).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[serde(default)]
pub struct ApplicationForm {
    pub legal_name: String,
    pub representative: String,
    pub address: String,
    pub phone: String,
    pub website: String,
    pub products: String,
    pub scta_seller: String,
    pub scta_address: String,
    pub scta_phone: String,
    pub scta_pricing: String,
    pub scta_fees: String,
    pub scta_payment: String,
    pub scta_delivery: String,
    pub scta_returns: String,
}

/// Field name, maximum length, multi-line.
pub const FIELDS: [(&str, usize, bool); 14] = [
    ("legal_name", 200, false),
    ("representative", 100, false),
    ("address", 300, false),
    ("phone", 30, false),
    ("website", 300, false),
    ("products", 2000, true),
    ("scta_seller", 200, false),
    ("scta_address", 300, false),
    ("scta_phone", 30, false),
    ("scta_pricing", 2000, true),
    ("scta_fees", 2000, true),
    ("scta_payment", 2000, true),
    ("scta_delivery", 2000, true),
    ("scta_returns", 2000, true),
];

impl ApplicationForm {
    pub fn get(&self, field: &str) -> &str {
        match field {
            "legal_name" => &self.legal_name,
            "representative" => &self.representative,
            "address" => &self.address,
            "phone" => &self.phone,
            "website" => &self.website,
            "products" => &self.products,
            "scta_seller" => &self.scta_seller,
            "scta_address" => &self.scta_address,
            "scta_phone" => &self.scta_phone,
            "scta_pricing" => &self.scta_pricing,
            "scta_fees" => &self.scta_fees,
            "scta_payment" => &self.scta_payment,
            "scta_delivery" => &self.scta_delivery,
            "scta_returns" => &self.scta_returns,
            _ => "",
        }
    }

    /// Sets a field by name; `false` for an unknown name.
    pub fn set(&mut self, field: &str, value: &str) -> bool {
        match self.get_mut(field) {
            Some(slot) => {
                *slot = value.to_owned();
                true
            }
            None => false,
        }
    }

    fn get_mut(&mut self, field: &str) -> Option<&mut String> {
        Some(match field {
            "legal_name" => &mut self.legal_name,
            "representative" => &mut self.representative,
            "address" => &mut self.address,
            "phone" => &mut self.phone,
            "website" => &mut self.website,
            "products" => &mut self.products,
            "scta_seller" => &mut self.scta_seller,
            "scta_address" => &mut self.scta_address,
            "scta_phone" => &mut self.scta_phone,
            "scta_pricing" => &mut self.scta_pricing,
            "scta_fees" => &mut self.scta_fees,
            "scta_payment" => &mut self.scta_payment,
            "scta_delivery" => &mut self.scta_delivery,
            "scta_returns" => &mut self.scta_returns,
            _ => return None,
        })
    }

    /// A draft may be incomplete but not malformed: lengths and characters are
    /// checked, values trimmed. Returns the cleaned form.
    pub fn clean_draft(&self) -> Result<ApplicationForm, (&'static str, FieldError)> {
        let mut clean = ApplicationForm::default();
        for (field, max, multiline) in FIELDS {
            let value = fields::optional_text(self.get(field), max, multiline).map_err(|e| (field, e))?;
            *clean.get_mut(field).expect("known field") = value.unwrap_or_default();
        }
        Ok(clean)
    }

    /// A submission must be complete, with a plausible phone number and website.
    pub fn clean_submission(&self) -> Result<ApplicationForm, (&'static str, FieldError)> {
        let clean = self.clean_draft()?;
        for (field, _, _) in FIELDS {
            if clean.get(field).is_empty() {
                return Err((field, FieldError::Required));
            }
        }
        for field in ["phone", "scta_phone"] {
            if !is_phone(clean.get(field)) {
                return Err((field, FieldError::InvalidPhone));
            }
        }
        if !is_web_url(&clean.website) {
            return Err(("website", FieldError::InvalidUrl));
        }
        Ok(clean)
    }
}

fn is_phone(value: &str) -> bool {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    (6..=15).contains(&digits) && value.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
}

fn is_web_url(value: &str) -> bool {
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        host.contains('.') && !host.contains(char::is_whitespace)
    })
}

/// The application as the merchant (or a reviewer) sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationView {
    pub status: ApplicationStatus,
    pub form: ApplicationForm,
    pub reviewer_reason: Option<String>,
    pub submitted_at: Option<i64>,
}

/// One entry of the reviewers' queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub account_id: i64,
    pub business_name: String,
    pub email: String,
    pub application: ApplicationView,
}

/// A merchant's public 特定商取引法 page: what their approved application says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    pub business_name: String,
    /// (field name, value) in the order of the law's list.
    pub items: Vec<(String, String)>,
}

/// The application's fields the public page shows, in the law's order.
pub const DISCLOSED: [&str; 8] = ["scta_seller", "scta_address", "scta_phone", "scta_pricing", "scta_fees", "scta_payment", "scta_delivery", "scta_returns"];

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> ApplicationForm {
        let mut form = ApplicationForm::default();
        for (field, _, _) in FIELDS {
            *form.get_mut(field).unwrap() = "x".into();
        }
        form.phone = "03-1234-5678".into();
        form.scta_phone = "+81 3 1234 5678".into();
        form.website = "https://shop.example.jp".into();
        form
    }

    #[test]
    fn drafts_may_be_incomplete() {
        let form = ApplicationForm { legal_name: "  株式会社テスト ".into(), ..Default::default() };
        assert_eq!(form.clean_draft().unwrap().legal_name, "株式会社テスト");
    }

    #[test]
    fn drafts_may_not_be_oversized() {
        let form = ApplicationForm { phone: "1".repeat(31), ..Default::default() };
        assert_eq!(form.clean_draft(), Err(("phone", FieldError::TooLong { max: 30 })));
    }

    #[test]
    fn submissions_must_be_complete_and_plausible() {
        assert!(complete().clean_submission().is_ok());
        let missing = ApplicationForm { scta_returns: " ".into(), ..complete() };
        assert_eq!(missing.clean_submission(), Err(("scta_returns", FieldError::Required)));
        let phone = ApplicationForm { phone: "call me".into(), ..complete() };
        assert_eq!(phone.clean_submission(), Err(("phone", FieldError::InvalidPhone)));
        let site = ApplicationForm { website: "javascript:alert(1)".into(), ..complete() };
        assert_eq!(site.clean_submission(), Err(("website", FieldError::InvalidUrl)));
    }

    #[test]
    fn description_hint_names_what_the_scta_page_lacks() {
        use SctaItem::*;
        assert_eq!(SctaItem::missing_from(&ApplicationForm::default()), SctaItem::ALL.to_vec(), "an empty page: every item");
        let mut page = ApplicationForm::default();
        page.set("scta_pricing", "税込価格で表示");
        page.set("scta_returns", "到着後8日以内");
        assert_eq!(SctaItem::missing_from(&page), vec![Quantity, DeliveryTiming, ApplicationPeriod]);
        page.set("scta_delivery", "3営業日以内に発送");
        assert_eq!(SctaItem::missing_from(&page), vec![Quantity, ApplicationPeriod], "per-product items stay");
        page.set("scta_delivery", "   ");
        assert!(SctaItem::missing_from(&page).contains(&DeliveryTiming), "blank is missing");
    }
}

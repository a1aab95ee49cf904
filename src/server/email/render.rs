//! What an email job says: its facts read from the database, then its text
//! and HTML in the customer's checkout language (`locales/*/email.ftl`).
//! Rendering is deterministic for the same facts, so a retry sends the same
//! email.

use crate::domain::email::EmailKind;
use crate::domain::payment::PaymentStatus;
use crate::domain::time_zone::TimeZone;
use crate::domain::{money::format_minor, Locale};
use crate::error::{AppError, AppResult};
use crate::i18n::{tr, tr_args};
use crate::server::db::Db;
use crate::server::payments;
use fluent_bundle::FluentValue;

/// An email ready to send: one recipient, one subject, a text and an HTML part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    /// Shown as the sender's name ("{merchant} via Paylinks").
    pub from_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Notifications: the one-click unsubscribe URL (`List-Unsubscribe`).
    pub unsubscribe: Option<String>,
}

/// The merchant as its customers see it.
struct Seller {
    name: String,
    legal_url: String,
    time_zone: TimeZone,
}

async fn seller(db: &Db, account_id: i64, public_url: &str) -> AppResult<Seller> {
    let (name, public_id, time_zone): (String, String, String) =
        sqlx::query_as("SELECT business_name, public_id, time_zone FROM accounts WHERE id = $1").bind(account_id).fetch_one(db.pool()).await?;
    Ok(Seller { name, legal_url: format!("{public_url}/legal/{public_id}"), time_zone: TimeZone::parse(&time_zone).unwrap_or_default() })
}

/// Renders job `kind` about payment `payment_id` (event `event_id`).
pub async fn render(db: &Db, public_url: &str, kind: EmailKind, payment_id: i64, event_id: Option<i64>) -> AppResult<Email> {
    let payment = payments::by_id(db, payment_id).await?;
    let seller = seller(db, payment.account_id, public_url).await?;
    let view = &payment.view;
    let to = view.customer_email.clone().ok_or(AppError::NotFound)?;
    let locale = view.locale;
    let money = |minor: i64| format_minor(minor, view.currency, locale);
    let when = |ms: i64| format!("{} ({})", seller.time_zone.display(ms, false), tr(locale, &seller.time_zone.message_id()));
    let merchant = FluentValue::from(seller.name.clone());
    let mut body = Body::new(locale);
    let subject;
    match kind {
        EmailKind::Receipt => {
            subject = tr_args(locale, "email-receipt-subject", &[("merchant", merchant.clone())]);
            body.para(tr_args(locale, "email-receipt-intro", &[("merchant", merchant.clone())]));
            body.field("email-field-product", &view.link_name);
            body.field("email-field-amount", &money(view.amount));
            body.field("email-field-date", &when(view.captured_at.unwrap_or(view.created_at)));
            if let Some(card) = &view.card {
                body.field("email-field-method", &format!("{} •••• {}", card.brand.display_name(), card.last4));
            }
            body.field("email-field-payment-id", &view.public_id);
        }
        EmailKind::KonbiniInstructions => {
            let store = view.konbini_store.map(|s| tr(locale, &s.message_id())).unwrap_or_default();
            subject = tr_args(locale, "email-konbini-subject", &[("merchant", merchant.clone())]);
            body.para(tr_args(locale, "email-konbini-intro", &[("store", store.clone().into()), ("deadline", when(view.deadline_at).into())]));
            body.field("email-field-store", &store);
            body.field("email-field-konbini-number", view.konbini_number.as_deref().unwrap_or_default());
            body.field("email-field-amount", &money(view.amount));
            body.field("email-field-deadline", &when(view.deadline_at));
            body.field("email-field-product", &view.link_name);
            body.field("email-field-payment-id", &view.public_id);
            body.para(tr(locale, "email-konbini-how"));
        }
        EmailKind::RefundNotice => {
            let event = event_id.ok_or(AppError::NotFound)?;
            let (amount, to_status, created_at): (Option<i64>, String, i64) =
                sqlx::query_as("SELECT amount, to_status, created_at FROM payment_events WHERE id = $1").bind(event).fetch_one(db.pool()).await?;
            let refunded = amount.unwrap_or(view.amount);
            let full = to_status == PaymentStatus::Refunded.as_str();
            subject = tr_args(locale, "email-refund-subject", &[("merchant", merchant.clone())]);
            let intro = if full { "email-refund-intro-full" } else { "email-refund-intro-partial" };
            body.para(tr_args(locale, intro, &[("merchant", merchant.clone()), ("amount", money(refunded).into())]));
            body.field("email-field-product", &view.link_name);
            body.field("email-field-refunded", &money(refunded));
            body.field("email-field-paid", &money(view.amount));
            body.field("email-field-date", &when(created_at));
            body.field("email-field-payment-id", &view.public_id);
            body.para(tr(locale, "email-refund-timing"));
        }
        _ => return Err(anyhow::anyhow!("{kind:?} is not a customer email").into()),
    }
    body.link(tr(locale, "email-seller-info"), &seller.legal_url);
    body.footer(tr_args(locale, "email-footer", &[("merchant", merchant)]));
    let (text, html) = body.finish(&subject);
    Ok(Email {
        to,
        from_name: tr_args(locale, "email-from-name", &[("merchant", seller.name.clone().into())]),
        subject: one_line(&subject),
        text,
        html,
        unsubscribe: None,
    })
}

/// Renders an account email (`kind.is_account()`), sent by Paylinks itself:
/// its one-time link to `public_url` carrying `token` (if it has one), and
/// for an address change the new address.
pub fn render_account(public_url: &str, kind: EmailKind, to: &str, locale: Locale, token: Option<&str>, new_address: Option<&str>) -> AppResult<Email> {
    // Its messages' prefix, the path its token opens, plain links (label, path).
    let (prefix, path, links): (_, _, &[(&str, &str)]) = match kind {
        EmailKind::VerifyEmail => ("email-verify", Some("verify-email"), &[]),
        EmailKind::PasswordReset => ("email-reset", Some("reset-password"), &[]),
        EmailKind::EmailChangeConfirm => ("email-change-confirm", Some("email-change/confirm"), &[]),
        EmailKind::EmailChangeRequested => ("email-change-requested", Some("email-change/cancel"), &[]),
        EmailKind::EmailChanged => ("email-changed", None, &[]),
        EmailKind::SignUpAttempt => ("email-signup-again", None, &[("email-signup-again-signin", "signin"), ("email-signup-again-reset", "forgot-password")]),
        _ => return Err(anyhow::anyhow!("{kind:?} is not an account email").into()),
    };
    let subject = tr(locale, &format!("{prefix}-subject"));
    let mut body = Body::new(locale);
    body.para(tr_args(locale, &format!("{prefix}-intro"), &[("address", FluentValue::from(new_address.unwrap_or_default().to_owned()))]));
    for (label, link_path) in links {
        body.link(tr(locale, label), &format!("{public_url}/{link_path}"));
    }
    if let Some(path) = path {
        let token = token.ok_or_else(|| anyhow::anyhow!("{kind:?} needs its token"))?;
        body.link(tr(locale, &format!("{prefix}-action")), &format!("{public_url}/{path}?token={token}"));
        body.para(tr(locale, &format!("{prefix}-ttl")));
    }
    body.para(tr(locale, &format!("{prefix}-ignore")));
    body.footer(tr(locale, "email-account-footer"));
    let (text, html) = body.finish(&subject);
    Ok(Email { to: to.to_owned(), from_name: "Paylinks".into(), subject: one_line(&subject), text, html, unsubscribe: None })
}

/// A header value on one line: control characters (CR, LF…) become spaces,
/// so no value can start a header of its own.
pub fn one_line(value: &str) -> String {
    value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

/// `&`, `<`, `>`, `"` and `'` as HTML entities.
pub fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The text and HTML parts built side by side, so they always say the same.
/// The HTML is inline-styled tables (what mail clients render alike) with no
/// remote images.
pub(super) struct Body {
    locale: Locale,
    text: String,
    html: String,
    in_table: bool,
    footer: Option<String>,
}

impl Body {
    pub(super) fn new(locale: Locale) -> Body {
        Body { locale, text: String::new(), html: String::new(), in_table: false, footer: None }
    }

    fn close_table(&mut self) {
        if self.in_table {
            self.html.push_str("</table>\n");
            self.in_table = false;
        }
    }

    pub(super) fn para(&mut self, text: String) {
        self.close_table();
        self.text.push_str(&text);
        self.text.push_str("\n\n");
        self.html.push_str(&format!("<p style=\"margin:0 0 16px\">{}</p>\n", escape_html(&text)));
    }

    pub(super) fn field(&mut self, label_id: &str, value: &str) {
        let label = tr(self.locale, label_id);
        self.field_text(&label, value);
    }

    /// A row whose label is already text.
    pub(super) fn field_text(&mut self, label: &str, value: &str) {
        if !self.in_table {
            self.html.push_str("<table role=\"presentation\" style=\"border-collapse:collapse;margin:0 0 16px;width:100%\">\n");
            self.in_table = true;
        }
        self.text.push_str(&format!("{label}: {value}\n"));
        self.html.push_str(&format!(
            "<tr><th scope=\"row\" style=\"text-align:left;padding:6px 12px 6px 0;color:#555;font-weight:normal;white-space:nowrap\">{}</th>\
             <td style=\"padding:6px 0;font-weight:600\">{}</td></tr>\n",
            escape_html(label),
            escape_html(value)
        ));
    }

    pub(super) fn link(&mut self, label: String, url: &str) {
        self.close_table();
        if !self.text.ends_with("\n\n") {
            self.text.push('\n');
        }
        self.text.push_str(&format!("{label}: {url}\n\n"));
        self.html.push_str(&format!(
            "<p style=\"margin:0 0 16px\"><a href=\"{0}\" style=\"color:#0b57d0\">{1}</a></p>\n",
            escape_html(url),
            escape_html(&label)
        ));
    }

    pub(super) fn footer(&mut self, text: String) {
        self.footer = Some(text);
    }

    pub(super) fn finish(mut self, title: &str) -> (String, String) {
        self.close_table();
        let footer = self.footer.take().unwrap_or_default();
        let text = format!("{}--\n{footer}\n", self.text);
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\n\
             <body style=\"margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,'Segoe UI','Hiragino Sans','Noto Sans JP','Malgun Gothic',sans-serif;color:#1f2328;font-size:15px;line-height:1.6\">\n\
             <div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px\">\n{body}</div>\n\
             <p style=\"max-width:560px;margin:16px auto 0;color:#6b7280;font-size:12px\">{footer}</p>\n</body></html>\n",
            lang = self.locale.code(),
            title = escape_html(title),
            body = self.html,
            footer = escape_html(&footer),
        );
        (text, html)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_stay_on_one_line() {
        assert_eq!(one_line("Shop\r\nBcc: victim@example.com"), "Shop  Bcc: victim@example.com");
        assert_eq!(one_line(" 店\u{0}名 "), "店 名");
    }

    #[test]
    fn html_parts_escape_what_merchants_and_customers_type() {
        let mut body = Body::new(Locale::En);
        body.field("email-field-product", "<script>alert(1)</script> & \"more\"");
        let (text, html) = body.finish("t");
        assert!(text.contains("<script>alert(1)</script>"), "the text part is plain text");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;"));
    }
}

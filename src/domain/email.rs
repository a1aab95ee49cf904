//! Emails the product sends, as the dashboard's delivery log shows them.

use serde::{Deserialize, Serialize};

/// The jobs the outbox knows (`email_jobs.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    Receipt,
    KonbiniInstructions,
    RefundNotice,
    /// To an account holder: confirm the address (sign-up).
    VerifyEmail,
    /// To an account holder: a one-time link to choose a new password.
    PasswordReset,
    /// To the merchant: one of their payments was captured.
    PaymentCaptured,
    /// To the merchant: a customer's bank took a payment back.
    ChargebackNotice,
    /// To the merchant: their live-mode application was approved or rejected.
    ApplicationDecided,
    /// To the merchant: yesterday's sales, instead of one email per payment.
    DailySummary,
    /// To the merchant: a webhook endpoint failed for a day and was turned off.
    WebhookDisabled,
    /// To the new address an account holder gave: a one-time link that makes it the account's.
    EmailChangeConfirm,
    /// To the account's address when a change was asked for: a one-time link that cancels it.
    EmailChangeRequested,
    /// To the old address once the change is done (no link).
    EmailChanged,
    /// To an account's address when someone signs up with it again (the
    /// sign-up form answers alike whether or not an address has an account).
    SignUpAttempt,
}

impl EmailKind {
    pub const ALL: [EmailKind; 14] = [
        EmailKind::Receipt,
        EmailKind::KonbiniInstructions,
        EmailKind::RefundNotice,
        EmailKind::VerifyEmail,
        EmailKind::PasswordReset,
        EmailKind::PaymentCaptured,
        EmailKind::ChargebackNotice,
        EmailKind::ApplicationDecided,
        EmailKind::DailySummary,
        EmailKind::WebhookDisabled,
        EmailKind::EmailChangeConfirm,
        EmailKind::EmailChangeRequested,
        EmailKind::EmailChanged,
        EmailKind::SignUpAttempt,
    ];

    pub fn parse(kind: &str) -> Option<EmailKind> {
        match kind {
            "receipt" => Some(EmailKind::Receipt),
            "konbini_instructions" => Some(EmailKind::KonbiniInstructions),
            "refund_notice" => Some(EmailKind::RefundNotice),
            "verify_email" => Some(EmailKind::VerifyEmail),
            "password_reset" => Some(EmailKind::PasswordReset),
            "payment_captured" => Some(EmailKind::PaymentCaptured),
            "chargeback_notice" => Some(EmailKind::ChargebackNotice),
            "application_decided" => Some(EmailKind::ApplicationDecided),
            "daily_summary" => Some(EmailKind::DailySummary),
            "webhook_disabled" => Some(EmailKind::WebhookDisabled),
            "email_change_confirm" => Some(EmailKind::EmailChangeConfirm),
            "email_change_requested" => Some(EmailKind::EmailChangeRequested),
            "email_changed" => Some(EmailKind::EmailChanged),
            "sign_up_attempt" => Some(EmailKind::SignUpAttempt),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Receipt => "receipt",
            EmailKind::KonbiniInstructions => "konbini_instructions",
            EmailKind::RefundNotice => "refund_notice",
            EmailKind::VerifyEmail => "verify_email",
            EmailKind::PasswordReset => "password_reset",
            EmailKind::PaymentCaptured => "payment_captured",
            EmailKind::ChargebackNotice => "chargeback_notice",
            EmailKind::ApplicationDecided => "application_decided",
            EmailKind::DailySummary => "daily_summary",
            EmailKind::WebhookDisabled => "webhook_disabled",
            EmailKind::EmailChangeConfirm => "email_change_confirm",
            EmailKind::EmailChangeRequested => "email_change_requested",
            EmailKind::EmailChanged => "email_changed",
            EmailKind::SignUpAttempt => "sign_up_attempt",
        }
    }

    /// About the account itself (not a payment), to an address the job
    /// names; never kept in the log (most carry a one-time link).
    pub fn is_account(self) -> bool {
        self.carries_token() || matches!(self, EmailKind::EmailChanged | EmailKind::SignUpAttempt)
    }

    /// Carries a one-time link (its token sealed in the job until sent).
    pub fn carries_token(self) -> bool {
        matches!(self, EmailKind::VerifyEmail | EmailKind::PasswordReset | EmailKind::EmailChangeConfirm | EmailKind::EmailChangeRequested)
    }

    /// To the merchant, about their business.
    pub fn is_merchant(self) -> bool {
        matches!(self, EmailKind::PaymentCaptured | EmailKind::ChargebackNotice | EmailKind::WebhookDisabled) || self.is_account_notice()
    }

    /// To the merchant about the whole account (no payment, so no mode).
    pub fn is_account_notice(self) -> bool {
        matches!(self, EmailKind::ApplicationDecided | EmailKind::DailySummary)
    }

    /// Localized name id (`locales/*/dashboard.ftl`).
    pub fn message_id(self) -> String {
        format!("emails-kind-{}", self.as_str().replace('_', "-"))
    }
}

/// Which emails a merchant gets about their payments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentEmails {
    /// One per captured payment (links can be muted one by one).
    #[default]
    Each,
    /// One summary of the day before, each morning.
    Daily,
    Off,
}

impl PaymentEmails {
    pub const ALL: [PaymentEmails; 3] = [PaymentEmails::Each, PaymentEmails::Daily, PaymentEmails::Off];

    pub fn parse(value: &str) -> Option<PaymentEmails> {
        PaymentEmails::ALL.into_iter().find(|p| p.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentEmails::Each => "each",
            PaymentEmails::Daily => "daily",
            PaymentEmails::Off => "off",
        }
    }

    /// Localized name id (`locales/*/dashboard.ftl`).
    pub fn message_id(self) -> String {
        format!("notify-payments-{}", self.as_str())
    }
}

/// What a notification's one-click unsubscribe turns off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsubscribe {
    /// "Payment captured" emails for one link.
    Link(i64),
    /// The daily summary (payment emails become off).
    DailySummary,
}

impl Unsubscribe {
    /// `link-42`, `daily`: the topic inside a signed unsubscribe token.
    pub fn as_topic(self) -> String {
        match self {
            Unsubscribe::Link(id) => format!("link-{id}"),
            Unsubscribe::DailySummary => "daily".into(),
        }
    }

    pub fn parse_topic(topic: &str) -> Option<Unsubscribe> {
        match topic {
            "daily" => Some(Unsubscribe::DailySummary),
            _ => topic.strip_prefix("link-")?.parse().ok().filter(|id| *id > 0).map(Unsubscribe::Link),
        }
    }
}

/// The merchant's notification choices, as the emails page shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationSettings {
    pub payment_emails: PaymentEmails,
    /// Where notifications go (the account's address).
    pub address: String,
}

/// One email in the merchant's delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct EmailLogEntry {
    pub id: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub kind: EmailKind,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Known once a send was tried.
    pub recipient: Option<String>,
    pub subject: Option<String>,
    /// Test mode only (the dev mailbox): what was sent.
    pub text_body: Option<String>,
    pub html_body: Option<String>,
    /// The payment it is about.
    pub payment_public_id: Option<String>,
}

/// The dashboard's email page: the delivery log of the current mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLog {
    pub mode: super::Mode,
    /// Whether email leaves this server (SMTP configured) or is only kept
    /// as files and shown here.
    pub smtp: bool,
    pub entries: Vec<EmailLogEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_choices_round_trip() {
        for kind in [
            "receipt",
            "konbini_instructions",
            "refund_notice",
            "verify_email",
            "password_reset",
            "payment_captured",
            "chargeback_notice",
            "application_decided",
            "daily_summary",
            "webhook_disabled",
        ] {
            assert_eq!(EmailKind::parse(kind).map(EmailKind::as_str), Some(kind));
        }
        assert!(EmailKind::ALL.iter().all(|k| EmailKind::parse(k.as_str()) == Some(*k)));
        assert_eq!(EmailKind::parse("receipt\n"), None);
        for choice in PaymentEmails::ALL {
            assert_eq!(PaymentEmails::parse(choice.as_str()), Some(choice));
        }
        assert_eq!(PaymentEmails::parse("weekly"), None);
    }

    #[test]
    fn unsubscribe_topics_name_one_thing() {
        for topic in [Unsubscribe::Link(42), Unsubscribe::DailySummary] {
            assert_eq!(Unsubscribe::parse_topic(&topic.as_topic()), Some(topic));
        }
        for bad in ["", "link-", "link-0", "link--1", "link-1x", "links-1", "daily ", "all"] {
            assert_eq!(Unsubscribe::parse_topic(bad), None, "{bad}");
        }
    }
}

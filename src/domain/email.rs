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
}

impl EmailKind {
    pub fn parse(kind: &str) -> Option<EmailKind> {
        match kind {
            "receipt" => Some(EmailKind::Receipt),
            "konbini_instructions" => Some(EmailKind::KonbiniInstructions),
            "refund_notice" => Some(EmailKind::RefundNotice),
            "verify_email" => Some(EmailKind::VerifyEmail),
            "password_reset" => Some(EmailKind::PasswordReset),
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
        }
    }

    /// About the account itself (not a payment): carries a one-time link.
    pub fn is_account(self) -> bool {
        matches!(self, EmailKind::VerifyEmail | EmailKind::PasswordReset)
    }

    /// Localized name id (`locales/*/dashboard.ftl`).
    pub fn message_id(self) -> String {
        format!("emails-kind-{}", self.as_str().replace('_', "-"))
    }
}

/// One email in the merchant's delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLogEntry {
    pub id: i64,
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

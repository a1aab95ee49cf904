//! The one error type of every `#[server]` function: serializable, so the
//! browser gets the same value the server produced and shows it localized.

use crate::domain::fields::FieldError;
use leptos::server_fn::error::ServerFnErrorErr;
use leptos::server_fn::{codec::JsonEncoding, error::FromServerFnError, ServerFnError};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// A form field was refused; `field` is the form's input name.
    #[error("invalid {field}: {error}")]
    Invalid { field: String, error: FieldError },
    #[error("email or password is incorrect")]
    InvalidCredentials,
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u32 },
    /// The server is at capacity for this kind of work (password hashing); try again shortly.
    #[error("busy")]
    Busy { retry_after_secs: u32 },
    #[error("an account with this email exists")]
    EmailTaken,
    #[error("not signed in")]
    NotSignedIn,
    #[error("not allowed")]
    Forbidden,
    #[error("live mode needs an approved application")]
    LiveNotApproved,
    /// The account's email address is not confirmed yet (needed to apply for live mode).
    #[error("email address not confirmed")]
    EmailNotVerified,
    /// An emailed one-time link that expired, was used, or never existed.
    #[error("link expired or already used")]
    TokenInvalid,
    #[error("not found")]
    NotFound,
    /// The request is fine but the thing it acts on is not in a state that allows it.
    #[error("not possible now: {0}")]
    Conflict(String),
    /// The payment link exists but takes no more payments (inactive, expired, sold out).
    #[error("payment link no longer accepts payments")]
    Gone,
    /// Every unit the link has left is held by a customer paying right now
    /// (live mode, usage limit); one may come back when their session ends.
    #[error("every remaining unit is reserved")]
    AllReserved,
    #[error("malformed request")]
    BadRequest,
    #[error("request too large")]
    TooLarge,
    /// The payment provider (KOMOJU) could not be reached or answered nonsense.
    #[error("payment provider unavailable")]
    ProviderUnavailable,
    /// The payment provider refused the request, with its own explanation.
    #[error("payment provider refused: {message}")]
    ProviderRefused { message: String },
    #[error("internal error")]
    Internal,
}

/// A parser's answer (`domain::link::FieldResult`): the field and what is wrong.
impl From<(&'static str, FieldError)> for AppError {
    fn from((field, error): (&'static str, FieldError)) -> AppError {
        AppError::invalid(field, error)
    }
}

impl AppError {
    pub fn invalid(field: &str, error: FieldError) -> AppError {
        AppError::Invalid { field: field.to_owned(), error }
    }

    /// HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid { error: FieldError::NameTaken, .. } => 409,
            AppError::Invalid { .. } => 422,
            AppError::InvalidCredentials | AppError::NotSignedIn => 401,
            AppError::RateLimited { .. } => 429,
            AppError::Busy { .. } => 503,
            AppError::EmailTaken | AppError::Conflict(_) => 409,
            AppError::Forbidden | AppError::LiveNotApproved | AppError::EmailNotVerified => 403,
            AppError::TokenInvalid => 410,
            AppError::NotFound => 404,
            AppError::Gone => 410,
            AppError::AllReserved => 409,
            AppError::BadRequest => 400,
            AppError::TooLarge => 413,
            AppError::Internal => 500,
            AppError::ProviderUnavailable | AppError::ProviderRefused { .. } => 502,
        }
    }

    /// Localized message id (see `locales/*/errors.ftl`).
    pub fn message_id(&self) -> &'static str {
        match self {
            AppError::Invalid { error, .. } => error.message_id(),
            AppError::InvalidCredentials => "error-invalid-credentials",
            AppError::RateLimited { .. } => "error-rate-limited",
            AppError::Busy { .. } => "error-busy",
            AppError::EmailTaken => "error-email-taken",
            AppError::NotSignedIn => "error-not-signed-in",
            AppError::Forbidden => "error-forbidden",
            AppError::LiveNotApproved => "error-live-not-approved",
            AppError::EmailNotVerified => "error-email-not-verified",
            AppError::TokenInvalid => "error-token-invalid",
            AppError::NotFound => "error-not-found",
            AppError::Conflict(_) => "error-conflict",
            AppError::Gone => "error-gone",
            AppError::AllReserved => "error-all-reserved",
            AppError::BadRequest => "error-bad-request",
            AppError::TooLarge => "error-too-large",
            AppError::Internal => "error-internal",
            AppError::ProviderUnavailable => "error-provider-unavailable",
            AppError::ProviderRefused { .. } => "error-provider-refused",
        }
    }

    /// The field an error belongs to, for showing it next to that input.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            AppError::EmailTaken => Some("email"),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => AppError::BadRequest,
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => AppError::Internal,
            _ => AppError::Internal,
        }
    }
}

impl From<ServerFnError> for AppError {
    fn from(_: ServerFnError) -> Self {
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %e, "internal error");
        AppError::Internal
    }
}

pub type AppResult<T> = Result<T, AppError>;

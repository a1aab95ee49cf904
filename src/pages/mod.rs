//! One module per Leptos screen of the dashboard and account pages, with
//! the thin `#[server]` functions they call. (The server-rendered checkout
//! and other plain axum handlers are `web/`.)

pub mod account_links;
pub mod api_keys;
pub mod auth;
pub mod dashboard;
pub mod emails;
mod home;
pub mod legal;
pub mod links;
mod not_found;
pub mod notifications;
pub mod payments;
pub mod review;
pub mod transactions;
pub mod webhooks;

pub use account_links::{ConfirmEmailReminder, EmailChangeCancelPage, EmailChangeConfirmPage, ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage};
pub use auth::{SignInPage, SignUpPage};
pub use dashboard::{ApiKeysSettingsPage, ApplicationPage, DashboardLayout, OverviewPage, SettingsPage, WebhooksSettingsPage};
pub use emails::EmailsPage;
pub use home::HomePage;
pub use legal::LegalPage;
pub use links::{EditLinkPage, LinkDetailPage, LinksPage, NewLinkPage, QuickLinkPage};
pub use not_found::{LoadError, NotFound};
pub use review::ReviewPage;
pub use transactions::{PaymentDetailPage, TransactionsPage};

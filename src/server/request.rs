//! What a `#[server]` function knows about its request: state, headers, the
//! client's address and the signed-in account.

use super::{auth, AppState};
use crate::error::{AppError, AppResult};
use http::request::Parts;
use leptos::prelude::{expect_context, use_context};
use std::net::SocketAddr;

pub struct Request {
    pub state: AppState,
    pub parts: Parts,
}

impl Request {
    pub fn current() -> AppResult<Request> {
        let state = use_context::<AppState>().ok_or(AppError::Internal)?;
        let parts = use_context::<Parts>().ok_or(AppError::Internal)?;
        Ok(Request { state, parts })
    }

    pub fn db(&self) -> &super::db::Db {
        &self.state.db
    }

    /// The peer address (or, behind a trusted proxy, the first X-Forwarded-For hop).
    pub fn client_ip(&self) -> String {
        if self.state.config.trust_proxy {
            if let Some(first) = self
                .parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
            {
                return first.trim().to_owned();
            }
        }
        self.parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned())
    }

    pub fn session_token(&self) -> Option<String> {
        auth::session_token(&self.parts.headers)
    }

    pub async fn account(&self) -> AppResult<Option<auth::Account>> {
        match self.session_token() {
            Some(token) => auth::account_by_session(self.db(), &token).await,
            None => Ok(None),
        }
    }

    /// The signed-in account, or `NotSignedIn`.
    pub async fn require_account(&self) -> AppResult<auth::Account> {
        self.account().await?.ok_or(AppError::NotSignedIn)
    }

    /// Cookies get `Secure` when customers reach us over https.
    pub fn secure_cookies(&self) -> bool {
        self.state.config.public_url.starts_with("https://")
    }

    /// Redirects a plain HTML form post (JavaScript off) with 303/302; the
    /// hydrated app decides its own navigation from the returned value.
    pub fn redirect_plain_form(&self, path: &str) {
        if self.accepts_html() {
            leptos_axum::redirect(path);
        }
    }

    /// A browser navigating (form post), not a `fetch` wanting JSON.
    pub fn accepts_html(&self) -> bool {
        self.parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    }

    pub fn set_header(&self, name: http::HeaderName, value: http::HeaderValue) {
        expect_context::<leptos_axum::ResponseOptions>().append_header(name, value);
    }
}

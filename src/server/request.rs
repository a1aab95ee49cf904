//! What a `#[server]` function knows about its request: state, headers, the
//! client's address and the signed-in account.

use super::{auth, AppState};
use crate::error::{AppError, AppResult};
use http::request::Parts;
use leptos::prelude::{expect_context, use_context};
use std::net::SocketAddr;

/// The client's address from the socket's peer and the request's headers.
pub fn client_ip_from(proxies: &super::client_ip::TrustedProxies, peer: SocketAddr, headers: &http::HeaderMap) -> String {
    let forwarded: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    proxies.client(peer.ip(), &forwarded).to_string()
}

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

    pub fn ctx(&self) -> super::Ctx<'_> {
        self.state.ctx()
    }

    /// The client's address: the peer, or behind a trusted proxy the rightmost
    /// X-Forwarded-For hop that is not one (see `client_ip`).
    pub fn client_ip(&self) -> String {
        match self.parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
            Some(info) => client_ip_from(&self.state.config.trusted_proxies, info.0, &self.parts.headers),
            None => "unknown".to_owned(),
        }
    }

    pub fn session_token(&self) -> Option<String> {
        auth::session_token(&self.parts.headers, self.secure_cookies())
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

    /// The signed-in merchant: `NotSignedIn`, or `Forbidden` for anyone else.
    pub async fn merchant(&self) -> AppResult<auth::Merchant> {
        auth::Merchant::of(self.require_account().await?)
    }

    /// The signed-in reviewer: `NotSignedIn`, or `Forbidden` for anyone else.
    pub async fn reviewer(&self) -> AppResult<auth::Reviewer> {
        auth::Reviewer::of(self.require_account().await?)
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
        self.parts.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
    }

    pub fn set_header(&self, name: http::HeaderName, value: http::HeaderValue) {
        expect_context::<leptos_axum::ResponseOptions>().append_header(name, value);
    }
}

//! Everything that only runs on the server: configuration, storage, the
//! services and connectors. (Its HTTP edge is `web/`.)

pub mod account_email;
pub mod accounts;
pub mod admin;
pub mod api;
pub mod api_keys;
pub mod assets;
pub mod auth;
pub mod checkout;
pub mod checkout_link_cache;
pub mod client_ip;
pub mod config;
pub mod csrf;
pub mod db;
pub mod demo;
pub mod email;
pub mod ids;
pub mod images;
pub mod jobs;
pub mod komoju;
pub mod links;
pub mod locale;
pub mod merchant_webhooks;
pub mod metrics;
pub mod observe;
pub mod payments;
pub mod rate;
pub mod request;
pub mod secrets;
pub mod sign_in;
pub mod throttle;
pub mod transactions;
pub mod webhooks;
pub mod wire;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// What a service needs of the process besides its arguments: the database
/// and the address customers reach us at (a link's URL, the API's and
/// webhooks' absolute image URLs). Borrowed from the [`AppState`] per call
/// (`state.ctx()`, `request.ctx()`), so passing it costs nothing.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub db: &'a db::Db,
    pub public_url: &'a str,
}

impl AppState {
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx { db: &self.db, public_url: &self.config.public_url }
    }
}

/// Shared by every request: handed to axum handlers as state and to `#[server]`
/// functions as context.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: db::Db,
    pub config: Arc<config::Config>,
    /// The live-mode connector (holds the server key that opens merchants' KOMOJU keys).
    pub komoju: komoju::Komoju,
    /// The checkout's per-visitor and per-link request limits (this server's share).
    pub limiter: Arc<rate::Limiter>,
}

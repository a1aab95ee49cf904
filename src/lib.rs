//! Paylinks: payment links with a hydrated merchant dashboard and a
//! server-rendered checkout. One crate, two builds: `ssr` (the axum server)
//! and `hydrate` (the browser's WASM).

pub mod app;
pub mod components;
pub mod domain;
pub mod error;
pub mod i18n;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod server;

/// The HTTP edge (server only): the router, the accept loop and middleware,
/// and the handlers that are not Leptos screens (the hosted checkout,
/// one-click unsubscribe, the API reference).
#[cfg(feature = "ssr")]
pub mod web;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate(catalog: String) {
    console_error_panic_hook::set_once();
    // The loader fetched the message catalog of the page's language beside the WASM.
    if let Err(error) = i18n::install(i18n::page_locale(), catalog) {
        leptos::logging::error!("message catalog: {error}");
    }
    // Lazy (per-page) routes load their WASM before hydrating: the async variant waits for them.
    leptos::mount::hydrate_lazy(app::App);
}

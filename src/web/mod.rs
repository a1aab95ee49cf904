//! The HTTP edge: `http` (the router, the accept loop, middleware and the
//! process's workers), and every axum handler that is not a Leptos screen
//! — the server-rendered checkout (works with JavaScript off), one-click
//! unsubscribe, the REST API's reference page. Handlers here parse the
//! request and call `server/` services; they hold no SQL.

pub mod api_reference;
pub mod checkout;
pub mod http;
pub mod unsubscribe;

//! `/unsubscribe?t=…`: where a notification's "unsubscribe" leads, no
//! sign-in needed (the signed token is the proof). Opening the page changes
//! nothing (mail scanners open links); its button, or a mail client's
//! one-click POST (RFC 8058), turns that one notification off. Server-rendered
//! like the checkout, in the account's language.

use super::checkout::{html_response, render, Document};
use crate::domain::email::Unsubscribe;
use crate::domain::Locale;
use crate::i18n::{tr, tr_args};
use crate::server::email::notify::{self, UnsubscribeTarget};
use crate::server::AppState;
use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use leptos::prelude::*;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    t: String,
}

/// `GET /unsubscribe?t=`: what the link turns off, and a button to do it.
pub async fn page(State(state): State<AppState>, Query(query): Query<TokenQuery>, headers: HeaderMap) -> Response {
    let target = match target(&state, &query.t, &headers).await {
        Ok(target) => target,
        Err(refused) => return refused,
    };
    let locale = target.locale;
    let title = tr(locale, "unsubscribe-title");
    let action = format!("/unsubscribe?t={}", crate::domain::fields::url_encode(&query.t));
    let html = render(view! {
        <Document locale title=title.clone() og=None>
            <main id="main" class="checkout">
                <section class="checkout-message">
                    <h1>{title}</h1>
                    <p>{describe(&target, "")}</p>
                    <form method="post" action=action>
                        <button type="submit" class="button primary">{tr(locale, "unsubscribe-confirm")}</button>
                    </form>
                    <p class="hint">{tr(locale, "unsubscribe-settings")}</p>
                </section>
            </main>
        </Document>
    });
    html_response(StatusCode::OK, html)
}

/// `POST /unsubscribe?t=`: turns it off (from our page's button or from a
/// mail client's one-click request, which has no cookie and no Origin).
pub async fn confirm(State(state): State<AppState>, Query(query): Query<TokenQuery>, headers: HeaderMap) -> Response {
    let target = match target(&state, &query.t, &headers).await {
        Ok(target) => target,
        Err(refused) => return refused,
    };
    if let Err(e) = notify::apply_unsubscribe(&state.db, &target).await {
        return failed(&headers, e);
    }
    tracing::info!(account = target.account_id, topic = %target.topic.as_topic(), "notification turned off by its unsubscribe link");
    let locale = target.locale;
    let title = tr(locale, "unsubscribe-done-title");
    let html = render(view! {
        <Document locale title=title.clone() og=None>
            <main id="main" class="checkout">
                <section class="checkout-message" role="status">
                    <h1>{title}</h1>
                    <p>{describe(&target, "-done")}</p>
                    <p class="hint">{tr(locale, "unsubscribe-settings")}</p>
                </section>
            </main>
        </Document>
    });
    html_response(StatusCode::OK, html)
}

/// What the token names, or the page saying it names nothing.
async fn target(state: &AppState, token: &str, headers: &HeaderMap) -> Result<UnsubscribeTarget, Response> {
    match notify::unsubscribe_target(&state.db, &state.config.secrets, token).await {
        Ok(Some(target)) => Ok(target),
        Ok(None) => Err(invalid(headers)),
        Err(e) => Err(failed(headers, e)),
    }
}

/// The sentence naming what the link turns off: `unsubscribe-link{suffix}`
/// (with the product) or `unsubscribe-summary{suffix}`.
fn describe(target: &UnsubscribeTarget, suffix: &str) -> String {
    match (target.topic, &target.link_name) {
        (Unsubscribe::Link(_), Some(name)) => tr_args(target.locale, &format!("unsubscribe-link{suffix}"), &[("product", name.clone().into())]),
        _ => tr(target.locale, &format!("unsubscribe-summary{suffix}")),
    }
}

fn message(locale: Locale, status: StatusCode, title_id: &str, text_id: &str) -> Response {
    let title = tr(locale, title_id);
    let text = tr(locale, text_id);
    let html = render(view! {
        <Document locale title=title.clone() og=None>
            <main id="main" class="checkout">
                <section class="checkout-message" role="alert">
                    <h1>{title}</h1>
                    <p>{text}</p>
                </section>
            </main>
        </Document>
    });
    html_response(status, html)
}

/// A token we did not sign, or for something that no longer exists.
fn invalid(headers: &HeaderMap) -> Response {
    message(crate::server::locale::from_headers(headers), StatusCode::NOT_FOUND, "unsubscribe-invalid-title", "unsubscribe-invalid-text")
}

fn failed(headers: &HeaderMap, error: crate::error::AppError) -> Response {
    tracing::error!(%error, "unsubscribe failed");
    message(crate::server::locale::from_headers(headers), StatusCode::SERVICE_UNAVAILABLE, "unsubscribe-failed-title", "unsubscribe-failed-text")
}

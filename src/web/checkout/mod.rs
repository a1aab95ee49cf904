//! The customer's checkout: `/pay/{slug}`, the result page and the simulated
//! PayPay approval page.
//!
//! These pages are rendered on the server only and load no WASM: customers
//! open them on phones over mobile networks, often from a QR code, so the
//! HTML and one small stylesheet are all they need. Forms post to `#[server]`
//! functions and the server answers with a redirect (Post/Redirect/Get), so
//! everything works with JavaScript off; `/checkout.js` (a few hundred bytes)
//! only submits the same forms without a full page load.

use crate::domain::card::KonbiniStore;
use crate::domain::checkout::PayForm;
use crate::domain::fields::url_encode;
use crate::domain::link::{display_datetime, Availability};
use crate::domain::money::format_minor;
use crate::domain::payment::{Method, PaymentStatus, PaymentView};
use crate::domain::{Locale, Mode};
use crate::error::AppError;
use crate::i18n::{tr, tr_args, tr_error};
use crate::server::checkout_link_cache::{self, CheckoutLink};
use crate::server::AppState;
use crate::server::{ids, payments};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use leptos::prelude::*;
use serde::Deserialize;

mod after;
mod submit;

pub use after::{komoju_return, paypay_decision, paypay_page, result};
pub use submit::pay;
use submit::{internal_error, lookup_allowed, not_found};

/// Query of the checkout page: the customer's language choice and, after a
/// refused submit, the error and what they had typed (never card data).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    lang: String,
    error: String,
    method: String,
    email: String,
    name: String,
    store: String,
}

fn locale_of(query_lang: &str, fallback: Locale) -> Locale {
    Locale::from_tag(query_lang).unwrap_or(fallback)
}

pub(crate) fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // Each render carries a one-time idempotency token: never let a cache hand
    // the same page (and token) to two customers.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn render(view: impl IntoView + 'static) -> String {
    let owner = Owner::new();
    let html = owner.with(|| format!("<!DOCTYPE html>{}", view.into_view().to_html()));
    // Unwrap the Open Graph tags (see `Document`) into the head itself.
    match (html.find(OG_OPEN), html.find(OG_CLOSE)) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{}{}", &html[..start], &html[start + OG_OPEN.len()..end], &html[end + OG_CLOSE.len()..])
        }
        _ => html,
    }
}

const OG_OPEN: &str = "<template id=\"og\">";
const OG_CLOSE: &str = "</template>";

fn escape_attr(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `GET /pay/{slug}`
pub async fn page(State(state): State<AppState>, Path(slug): Path<String>, Query(query): Query<PageQuery>, headers: HeaderMap) -> Response {
    let link = match checkout_link_cache::checkout_link_cached(&state.db, &slug).await {
        Ok(link) => link,
        Err(AppError::NotFound) => return not_found(&headers),
        Err(_) => return internal_error(&headers),
    };
    let locale = locale_of(&query.lang, link.language);
    let status = if link.availability == Availability::Active { StatusCode::OK } else { StatusCode::GONE };
    let token = ids::random_token();
    // The page as first opened (no error to show) is the same for every
    // customer but for its one-time token: render it once per link version
    // and language, then put a fresh token in.
    let plain = query.error.is_empty() && query.method.is_empty() && query.email.is_empty() && query.name.is_empty() && query.store.is_empty();
    if plain {
        if let Some(html) = rendered::get(&link, locale, &token) {
            return html_response(status, html);
        }
        let template = render_page(&state, link.clone(), locale, query, rendered::TOKEN_SLOT.to_owned());
        let html = rendered::put(&link, locale, &template, &token);
        return html_response(status, html);
    }
    html_response(status, render_page(&state, link, locale, query, token))
}

fn render_page(state: &AppState, link: CheckoutLink, locale: Locale, query: PageQuery, token: String) -> String {
    let image = link.image_sha.as_ref().map(|sha| crate::server::images::url(sha));
    let og_image = image.as_ref().map(|path| format!("{}{path}", state.config.public_url));
    let url = format!("{}/pay/{}", state.config.public_url, link.slug);
    let price = format_minor(link.amount, link.currency, locale);
    let title = tr_args(locale, "checkout-title", &[("product", link.name.clone().into()), ("merchant", link.business_name.clone().into())]);
    let error: Option<AppError> = (!query.error.is_empty()).then(|| serde_json::from_str(&query.error).ok()).flatten();
    let body = if link.availability == Availability::Active && link.mode == Mode::Live {
        view! { <LiveForm link=link.clone() locale query error token/> }.into_any()
    } else if link.availability == Availability::Active {
        view! { <PaymentForms link=link.clone() locale query error token/> }.into_any()
    } else {
        view! {
            <section class="checkout-message" aria-labelledby="gone-title">
                <h2 id="gone-title">{tr(locale, "checkout-gone-title")}</h2>
                <p>{tr(locale, "checkout-gone-text")}</p>
            </section>
        }
        .into_any()
    };
    let description = format!("{price} — {}", link.business_name);
    render(view! {
        <Document locale title=title.clone() og=Some(OpenGraph { title: link.name.clone(), description, url, image: og_image })>
            <CheckoutHeader link=link.clone() locale lang_base=format!("/pay/{}", link.slug)/>
            <main id="main" class="checkout">
                <Product link=link.clone() locale image/>
                {body}
            </main>
        </Document>
    })
}

/// Checkout pages rendered once per (link as read, language), split where
/// the one-time token goes.
mod rendered {
    use super::*;
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    /// Rendered where the token goes; never a real token (those are random).
    pub const TOKEN_SLOT: &str = "PAYLINKS-TOKEN-SLOT-00";

    struct Page {
        link: CheckoutLink,
        parts: Vec<String>,
    }

    type Pages = Mutex<HashMap<(String, Locale), Page>>;

    fn pages() -> &'static Pages {
        static PAGES: OnceLock<Pages> = OnceLock::new();
        PAGES.get_or_init(Default::default)
    }

    /// The cached page for exactly this link (every field as read now).
    pub fn get(link: &CheckoutLink, locale: Locale, token: &str) -> Option<String> {
        let pages = pages().lock().ok()?;
        let page = pages.get(&(link.slug.clone(), locale)).filter(|p| p.link == *link)?;
        Some(page.parts.join(token))
    }

    /// Keeps `template` (rendered with [`TOKEN_SLOT`]) and returns it with `token`.
    pub fn put(link: &CheckoutLink, locale: Locale, template: &str, token: &str) -> String {
        let parts: Vec<String> = template.split(TOKEN_SLOT).map(str::to_owned).collect();
        let html = parts.join(token);
        if let Ok(mut pages) = pages().lock() {
            if pages.len() >= 10_000 {
                pages.clear();
            }
            pages.insert((link.slug.clone(), locale), Page { link: link.clone(), parts });
        }
        html
    }
}

#[derive(Clone)]
pub struct OpenGraph {
    title: String,
    description: String,
    url: String,
    image: Option<String>,
}

#[component]
pub(crate) fn Document(locale: Locale, title: String, og: Option<OpenGraph>, #[prop(optional)] refresh: bool, children: Children) -> impl IntoView {
    // Open Graph wants `property=` attributes, which the view macro does not
    // know; the head gets them as escaped text instead.
    let og = og.map(|og| {
        let mut tags = String::new();
        let mut tag = |attr: &str, key: &str, value: &str| {
            tags.push_str(&format!("<meta {attr}=\"{key}\" content=\"{}\">", escape_attr(value)));
        };
        tag("property", "og:type", "product");
        tag("property", "og:title", &og.title);
        tag("property", "og:description", &og.description);
        tag("property", "og:url", &og.url);
        if let Some(image) = &og.image {
            tag("property", "og:image", image);
        }
        tag("name", "twitter:card", if og.image.is_some() { "summary_large_image" } else { "summary" });
        tag("name", "twitter:title", &og.title);
        tag("name", "twitter:description", &og.description);
        tag("name", "description", &og.description);
        tags
    });
    view! {
        <html lang=locale.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                {refresh.then(|| view! { <meta http-equiv="refresh" content="2"/> })}
                <title>{title}</title>
                {og.map(|tags| view! { <template id="og" inner_html=tags></template> })}
                <link rel="icon" href=crate::server::assets::url("/favicon.svg") type="image/svg+xml"/>
                <link rel="stylesheet" href=crate::server::assets::url("/pkg/paylinks.css")/>
                <script src=crate::server::assets::url("/checkout.js") defer></script>
            </head>
            <body class="checkout-body">{children()}</body>
        </html>
    }
}

#[component]
fn CheckoutHeader(link: CheckoutLink, locale: Locale, lang_base: String) -> impl IntoView {
    view! {
        {(link.mode == Mode::Test).then(|| view! {
            <p class="test-banner" role="note">{tr(locale, "checkout-test-banner")}</p>
        })}
        <header class="checkout-header">
            <p class="merchant">{link.business_name.clone()}</p>
            <nav class="checkout-lang" aria-label=tr(locale, "checkout-language")>
                {Locale::ALL.into_iter().map(|l| {
                    let current = (l == locale).then_some("true");
                    view! { <a href=format!("{lang_base}?lang={}", l.code()) hreflang=l.code() lang=l.code() aria-current=current>{l.native_name()}</a> }
                }).collect_view()}
            </nav>
        </header>
    }
}

#[component]
fn Product(link: CheckoutLink, locale: Locale, image: Option<String>) -> impl IntoView {
    view! {
        <section class="product" aria-labelledby="product-name">
            {image.map(|src| view! { <img class="product-image" src=src alt="" width="640" height="400" decoding="async"/> })}
            <h1 id="product-name">{link.name.clone()}</h1>
            <p class="price"><span class="visually-hidden">{tr(locale, "checkout-price")}": "</span>{format_minor(link.amount, link.currency, locale)}</p>
            {(!link.description.is_empty()).then(|| view! { <p class="description">{link.description.clone()}</p> })}
            <p class="seller">
                {tr_args(locale, "checkout-sold-by", &[("merchant", link.business_name.clone().into())])}
                {link.legal_public_id.clone().map(|id| view! { " · " <a href=format!("/legal/{id}")>{tr(locale, "checkout-legal")}</a> })}
            </p>
        </section>
    }
}

/// The three ways to pay, each its own form (one submit, one method), all
/// carrying the same one-time token: whichever is submitted first wins.
#[component]
fn PaymentForms(link: CheckoutLink, locale: Locale, query: PageQuery, error: Option<AppError>, token: String) -> impl IntoView {
    let chosen = Method::parse(&query.method).unwrap_or(Method::Card);
    let price = format_minor(link.amount, link.currency, locale);
    let hidden = move |method: Method| {
        view! {
            <input type="hidden" name="pay[slug]" value=link.slug.clone()/>
            <input type="hidden" name="pay[token]" value=token.clone()/>
            <input type="hidden" name="pay[lang]" value=locale.code()/>
            <input type="hidden" name="pay[method]" value=method.as_str()/>
        }
    };
    // The error belongs to the form of the method that was submitted.
    let error_for = |method: Method| error.clone().filter(|_| method == chosen);
    let field_error = |method: Method, field: &'static str| error_for(method).filter(|e| e.field() == Some(field)).map(|e| tr_error(locale, &e));
    let form_error = |method: Method| {
        error_for(method).map(|e| {
            let text = if e.field().is_some() {
                tr(locale, "checkout-error-summary")
            } else if matches!(e, AppError::Conflict(_)) {
                tr(locale, "checkout-live-unavailable")
            } else {
                tr_error(locale, &e)
            };
            view! { <p class="form-error" role="alert">{text}</p> }
        })
    };
    let email = |method: Method| {
        view! {
            <TextField id=format!("{}-email", method.as_str()) name="email" label=tr(locale, "checkout-email")
                error=field_error(method, "email") kind="email" autocomplete="email" value=query.email.clone()/>
        }
    };
    let processing = tr(locale, "checkout-processing");
    let store_error = field_error(Method::Konbini, "store");
    view! {
        <section class="pay" aria-labelledby="pay-title">
            <h2 id="pay-title">{tr(locale, "checkout-method-legend")}</h2>
            <details class="method" name="method" open=chosen == Method::Card>
                <summary>{tr(locale, "checkout-method-card")}</summary>
                <form method="post" action="/api/pay" data-enhance novalidate>
                    {hidden(Method::Card)}
                    {form_error(Method::Card)}
                    {(link.mode == Mode::Test).then(|| view! { <p class="hint test-cards">{tr(locale, "checkout-test-cards")}</p> })}
                    <TextField id="card-number" name="card_number" label=tr(locale, "checkout-card-number")
                        error=field_error(Method::Card, "card_number") inputmode="numeric" autocomplete="cc-number"
                        placeholder="1234 1234 1234 1234" maxlength=23/>
                    <div class="field-row">
                        <TextField id="card-expiry" name="card_expiry" label=tr(locale, "checkout-card-expiry")
                            error=field_error(Method::Card, "card_expiry") inputmode="numeric" autocomplete="cc-exp"
                            placeholder="MM/YY" maxlength=7/>
                        <TextField id="card-cvc" name="card_cvc" label=tr(locale, "checkout-card-cvc")
                            error=field_error(Method::Card, "card_cvc") inputmode="numeric" autocomplete="cc-csc" maxlength=4/>
                    </div>
                    <TextField id="card-name" name="name" label=tr(locale, "checkout-card-name")
                        error=field_error(Method::Card, "name") autocomplete="cc-name" value=query.name.clone()/>
                    {email(Method::Card)}
                    <p class="hint">{tr(locale, "checkout-secure")}</p>
                    <button type="submit" class="button primary pay-button" data-busy-label=processing.clone()>
                        {tr_args(locale, "checkout-pay", &[("amount", price.clone().into())])}
                    </button>
                </form>
            </details>
            <details class="method" name="method" open=chosen == Method::Konbini>
                <summary>{tr(locale, "checkout-method-konbini")}</summary>
                <form method="post" action="/api/pay" data-enhance novalidate>
                    {hidden(Method::Konbini)}
                    {form_error(Method::Konbini)}
                    <div class="field" class:invalid=store_error.is_some()>
                        <label for="konbini-store">{tr(locale, "checkout-store")}</label>
                        <select id="konbini-store" name="pay[store]" required
                            aria-invalid=store_error.as_ref().map(|_| "true") aria-describedby="konbini-store-error">
                            <option value="">{tr(locale, "checkout-store-choose")}</option>
                            {KonbiniStore::ALL.into_iter().map(|store| view! {
                                <option value=store.as_str() selected=query.store == store.as_str()>{tr(locale, &store.message_id())}</option>
                            }).collect_view()}
                        </select>
                        <p class="field-error" id="konbini-store-error">{store_error.clone()}</p>
                    </div>
                    {email(Method::Konbini)}
                    <button type="submit" class="button primary" data-busy-label=processing.clone()>{tr(locale, "checkout-konbini-submit")}</button>
                </form>
            </details>
            <details class="method" name="method" open=chosen == Method::Paypay>
                <summary>{tr(locale, "checkout-method-paypay")}</summary>
                <form method="post" action="/api/pay" data-enhance novalidate>
                    {hidden(Method::Paypay)}
                    {form_error(Method::Paypay)}
                    {email(Method::Paypay)}
                    <button type="submit" class="button primary" data-busy-label=processing>{tr(locale, "checkout-paypay-submit")}</button>
                </form>
            </details>
        </section>
    }
}

/// Live mode: the customer pays on KOMOJU's hosted page (cards, konbini,
/// PayPay…); we only start the attempt. A plain form, so the browser follows
/// the redirect to KOMOJU.
#[component]
fn LiveForm(link: CheckoutLink, locale: Locale, query: PageQuery, error: Option<AppError>, token: String) -> impl IntoView {
    let email_error = error.as_ref().filter(|e| e.field() == Some("email")).map(|e| tr_error(locale, e));
    let form_error = error.filter(|e| e.field() != Some("email")).map(|e| {
        let text = if matches!(e, AppError::Conflict(_)) { tr(locale, "checkout-live-unavailable") } else { tr_error(locale, &e) };
        view! { <p class="form-error" role="alert">{text}</p> }
    });
    view! {
        <section class="pay" aria-labelledby="pay-title">
            <h2 id="pay-title">{tr(locale, "checkout-method-komoju")}</h2>
            <form method="post" action="/api/pay" novalidate>
                <input type="hidden" name="pay[slug]" value=link.slug.clone()/>
                <input type="hidden" name="pay[token]" value=token/>
                <input type="hidden" name="pay[lang]" value=locale.code()/>
                <input type="hidden" name="pay[method]" value=Method::Komoju.as_str()/>
                {form_error}
                <p class="hint">{tr(locale, "checkout-komoju-intro")}</p>
                <TextField id="komoju-email" name="email" label=tr(locale, "checkout-email") error=email_error
                    kind="email" autocomplete="email" value=query.email.clone()/>
                <button type="submit" class="button primary pay-button" data-busy-label=tr(locale, "checkout-processing")>
                    {tr(locale, "checkout-komoju-submit")}
                </button>
            </form>
        </section>
    }
}

/// A labelled input of the payment form, with its error below it.
#[component]
fn TextField(
    #[prop(into)] id: String,
    /// The `PayForm` field it fills.
    name: &'static str,
    label: String,
    error: Option<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    #[prop(optional)] maxlength: Option<u32>,
    #[prop(optional)] value: String,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let invalid = error.is_some();
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>{label}</label>
            <input id=id type=kind name=format!("pay[{name}]") required value=value autocomplete=autocomplete
                inputmode=inputmode placeholder=placeholder maxlength=maxlength
                aria-invalid=error.as_ref().map(|_| "true") aria-describedby=error_id.clone()/>
            <p class="field-error" id=error_id>{error}</p>
        </div>
    }
}

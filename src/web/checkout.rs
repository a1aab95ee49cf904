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

/// `GET /pay/{slug}/{payment}`: what happened to the customer's payment.
pub async fn result(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path((slug, public_id)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = lookup_allowed(&state, peer, &headers) {
        return refused;
    }
    let (link, payment) = match load_full(&state, &slug, &public_id).await {
        Ok(found) => found,
        Err(AppError::NotFound) => return not_found(&headers),
        Err(_) => return internal_error(&headers),
    };
    let provider_url = payment.provider_url.clone();
    let payment = payment.view;
    let locale = locale_of(&query.lang, payment.locale);
    let amount = format_minor(payment.amount, payment.currency, locale);
    let status = payment.status;
    let (title_id, tone) = match status {
        PaymentStatus::Captured => ("result-captured-title", "success"),
        PaymentStatus::Authorized => ("result-authorized-title", "waiting"),
        PaymentStatus::Pending => ("result-pending-title", "waiting"),
        PaymentStatus::Failed => ("result-failed-title", "error"),
        PaymentStatus::Expired => ("result-expired-title", "error"),
        PaymentStatus::Cancelled => ("result-cancelled-title", "error"),
        PaymentStatus::Refunded => ("result-refunded-title", "neutral"),
        PaymentStatus::ChargedBack => ("result-charged-back-title", "neutral"),
    };
    // A card payment still pending is in flight on another request: refresh.
    let refresh = status == PaymentStatus::Pending && payment.method == Method::Card;
    let link_page = format!("/pay/{}?lang={}", link.slug, locale.code());
    let can_retry = link.availability == Availability::Active && matches!(status, PaymentStatus::Failed | PaymentStatus::Expired | PaymentStatus::Cancelled);
    let text = match status {
        PaymentStatus::Captured if payment.refunded_amount > 0 => {
            Some(tr_args(locale, "result-partially-refunded-text", &[("amount", format_minor(payment.refunded_amount, payment.currency, locale).into())]))
        }
        PaymentStatus::Captured => Some(tr_args(locale, "result-captured-text", &[("merchant", link.business_name.clone().into())])),
        PaymentStatus::Failed => payment.failure_reason.map(|r| tr(locale, &r.message_id())),
        PaymentStatus::Expired => Some(tr(locale, "result-expired-text")),
        PaymentStatus::Refunded => Some(tr(locale, "result-refunded-text")),
        PaymentStatus::Authorized => Some(tr(locale, "result-authorized-text")),
        PaymentStatus::Pending if payment.method == Method::Paypay => Some(tr(locale, "result-paypay-pending")),
        PaymentStatus::Pending if payment.method == Method::Komoju => Some(tr(locale, "result-komoju-pending")),
        PaymentStatus::Pending => Some(tr(locale, "result-pending-text")),
        _ => None,
    };
    let paypay = (status == PaymentStatus::Pending && payment.method == Method::Paypay).then(|| format!("/pay/{}/{}/paypay", link.slug, payment.public_id));
    let komoju = provider_url.filter(|_| status == PaymentStatus::Pending);
    let konbini = (status == PaymentStatus::Authorized).then(|| {
        let deadline = format!("{} (JST)", display_datetime(payment.deadline_at, false));
        view! {
            <dl class="konbini">
                <dt>{tr(locale, "result-konbini-store")}</dt>
                <dd>{payment.konbini_store.map(|s| tr(locale, &s.message_id()))}</dd>
                <dt>{tr(locale, "result-konbini-number")}</dt>
                <dd class="konbini-number" data-testid="konbini-number">{payment.konbini_number.clone()}</dd>
                <dt>{tr(locale, "result-konbini-deadline")}</dt>
                <dd data-testid="konbini-deadline">{deadline}</dd>
            </dl>
        }
    });
    let title = tr(locale, title_id);
    let html = render(view! {
        <Document locale title=title.clone() og=None refresh>
            <CheckoutHeader link=link.clone() locale lang_base=format!("/pay/{}/{}", link.slug, payment.public_id)/>
            <main id="main" class="checkout">
                <section class=format!("result result-{tone}") aria-labelledby="result-title" data-status=status.as_str()>
                    <h1 id="result-title" tabindex="-1">{title}</h1>
                    {text.map(|t| view! { <p class="result-text" role=(tone == "error").then_some("alert")>{t}</p> })}
                    {konbini}
                    {paypay.map(|href| view! { <p><a class="button primary" href=href>{tr(locale, "result-paypay-continue")}</a></p> })}
                    {komoju.map(|href| view! { <p><a class="button primary" href=href rel="noopener">{tr(locale, "result-komoju-continue")}</a></p> })}
                    <dl class="receipt">
                        <dt>{tr(locale, "result-amount")}</dt>
                        <dd>{amount}</dd>
                        <dt>{tr(locale, "result-method")}</dt>
                        <dd>{method_label(&payment, locale)}</dd>
                        <dt>{tr(locale, "result-payment-id")}</dt>
                        <dd><code>{payment.public_id.clone()}</code></dd>
                    </dl>
                    {can_retry.then(|| view! { <p><a class="button primary" href=link_page.clone()>{tr(locale, "result-try-again")}</a></p> })}
                    {(!can_retry).then(|| view! { <p><a href=link_page.clone()>{tr(locale, "result-back")}</a></p> })}
                </section>
            </main>
        </Document>
    });
    html_response(StatusCode::OK, html)
}

fn method_label(payment: &PaymentView, locale: Locale) -> String {
    match (&payment.method, &payment.card) {
        (Method::Card, Some(card)) => format!("{} •••• {}", card.brand.display_name(), card.last4),
        (Method::Card, None) => tr(locale, "checkout-method-card"),
        (Method::Konbini, _) => tr(locale, "checkout-method-konbini"),
        (Method::Paypay, _) => tr(locale, "checkout-method-paypay"),
        (Method::Komoju, _) => "KOMOJU".to_owned(),
    }
}

async fn load_payment(state: &AppState, slug: &str, public_id: &str) -> Result<(CheckoutLink, PaymentView), AppError> {
    load_full(state, slug, public_id).await.map(|(link, payment)| (link, payment.view))
}

async fn load_full(state: &AppState, slug: &str, public_id: &str) -> Result<(CheckoutLink, payments::Payment), AppError> {
    let link = checkout_link_cache::checkout_link(&state.db, slug).await?;
    let payment = payments::by_public_id(&state.db, public_id).await?;
    if payment.view.link_id != link.id {
        return Err(AppError::NotFound);
    }
    Ok((link, payment))
}

/// `GET /pay/{slug}/{payment}/return`: KOMOJU's `return_url`. Confirms with
/// KOMOJU, then shows the result page; if KOMOJU cannot be asked right now,
/// the result page says we are waiting (the webhook will tell us).
pub async fn komoju_return(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path((slug, public_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = lookup_allowed(&state, peer, &headers) {
        return refused;
    }
    match crate::server::checkout::komoju_return(&state, &slug, &public_id).await {
        Ok(_) | Err(AppError::ProviderUnavailable | AppError::ProviderRefused { .. } | AppError::Conflict(_)) => {}
        Err(AppError::NotFound) => return not_found(&headers),
        Err(_) => return internal_error(&headers),
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/pay/{slug}/{public_id}"))]).into_response()
}

/// `GET /pay/{slug}/{payment}/paypay`: the test-mode stand-in for the PayPay app.
pub async fn paypay_page(State(state): State<AppState>, Path((slug, public_id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let (link, payment) = match load_payment(&state, &slug, &public_id).await {
        Ok(found) if found.1.method == Method::Paypay && found.1.mode == Mode::Test => found,
        Ok(_) | Err(AppError::NotFound) => return not_found(&headers),
        Err(_) => return internal_error(&headers),
    };
    let result_url = format!("/pay/{}/{}", link.slug, payment.public_id);
    if payment.status != PaymentStatus::Pending {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, result_url)]).into_response();
    }
    let locale = payment.locale;
    let amount = format_minor(payment.amount, payment.currency, locale);
    let title = tr(locale, "paypay-title");
    let decision = move |approve: bool, label: String, class: &'static str| {
        view! {
            <form method="post" action="/api/paypay_decision" data-enhance>
                <input type="hidden" name="slug" value=link.slug.clone()/>
                <input type="hidden" name="payment" value=payment.public_id.clone()/>
                <input type="hidden" name="approve" value=approve.to_string()/>
                <button type="submit" class=class>{label}</button>
            </form>
        }
    };
    let html = render(view! {
        <Document locale title=title.clone() og=None>
            <p class="test-banner" role="note">{tr(locale, "checkout-test-banner")}</p>
            <main id="main" class="checkout paypay">
                <section class="result" aria-labelledby="paypay-title">
                    <h1 id="paypay-title">{title}</h1>
                    <p>{tr_args(locale, "paypay-text", &[("amount", amount.into()), ("merchant", link.business_name.clone().into())])}</p>
                    <div class="actions">
                        {decision(true, tr(locale, "paypay-approve"), "button primary")}
                        {decision(false, tr(locale, "paypay-cancel"), "button")}
                    </div>
                </section>
            </main>
        </Document>
    });
    html_response(StatusCode::OK, html)
}

fn request_locale(headers: &HeaderMap) -> Locale {
    crate::server::locale::from_headers(headers)
}

fn not_found(headers: &HeaderMap) -> Response {
    let locale = request_locale(headers);
    let title = tr(locale, "checkout-not-found-title");
    let html = render(view! {
        <Document locale title=title.clone() og=None>
            <main id="main" class="checkout">
                <section class="checkout-message">
                    <h1>{title}</h1>
                    <p>{tr(locale, "checkout-not-found-text")}</p>
                </section>
            </main>
        </Document>
    });
    html_response(StatusCode::NOT_FOUND, html)
}

fn internal_error(headers: &HeaderMap) -> Response {
    let locale = request_locale(headers);
    let title = tr(locale, "error-internal");
    let html = render(view! {
        <Document locale title=title.clone() og=None>
            <main id="main" class="checkout"><h1>{title}</h1></main>
        </Document>
    });
    html_response(StatusCode::INTERNAL_SERVER_ERROR, html)
}

/// Where a plain form goes after a refused submit: back to the form, with the
/// error and the harmless fields the customer typed.
fn form_error_url(form: &PayForm, error: &AppError) -> String {
    let query = [
        ("lang", form.lang.as_str()),
        ("method", form.method.as_str()),
        ("email", form.email.as_str()),
        ("name", form.name.as_str()),
        ("store", form.store.as_str()),
    ];
    let mut url = format!("/pay/{}?error={}", url_encode(&form.slug), url_encode(&serde_json::to_string(error).unwrap_or_default()));
    for (key, value) in query.iter().filter(|(_, v)| !v.is_empty() && v.len() <= 200) {
        url.push_str(&format!("&{key}={}", url_encode(value)));
    }
    url
}

/// Takes a payment. Browsers (plain form or `/checkout.js`) are redirected to
/// the result page, or back to the form with the error; API-style callers get
/// the result page's path or the error as JSON.
#[server(endpoint = "pay")]
pub async fn pay(pay: PayForm) -> Result<String, AppError> {
    let request = crate::server::request::Request::current()?;
    let outcome = match submit_allowed(&request, &pay.slug) {
        Ok(()) => crate::server::checkout::pay(&request.state, &pay).await,
        Err(refused) => Err(refused),
    };
    match outcome {
        Ok(payment) => {
            // What an operator needs to follow a payment from this request's
            // id; never the customer's email or card.
            let view = &payment.view;
            tracing::info!(payment = %view.public_id, link = %view.link_slug, method = view.method.as_str(), status = view.status.as_str(), "checkout submitted");
            let url = match &payment.provider_url {
                // Live: off to KOMOJU's page (again, for a repeated submit).
                Some(komoju) if payment.view.status == PaymentStatus::Pending => komoju.clone(),
                _ => format!("/pay/{}/{}", payment.view.link_slug, payment.view.public_id),
            };
            request.redirect_plain_form(&url);
            Ok(url)
        }
        Err(error) if request.accepts_html() && crate::domain::LinkSlug::parse(&pay.slug).is_some() => {
            let url = form_error_url(&pay, &error);
            request.redirect_plain_form(&url);
            Ok(url)
        }
        Err(error) => Err(error),
    }
}

/// One visitor (and everyone together on one link) may start only so many
/// payments a minute: each is a row, and in live mode a KOMOJU session on the
/// merchant's key.
fn submit_allowed(request: &crate::server::request::Request, slug: &str) -> Result<(), AppError> {
    let config = &request.state.config;
    let now = crate::server::db::now_ms();
    let visitor = format!("pay-ip:{}", request.client_ip());
    let link = crate::domain::LinkSlug::parse(slug).map(|slug| format!("pay-link:{}", slug.as_str()));
    let mut keys = vec![(visitor.as_str(), config.checkout_rate)];
    if let Some(link) = &link {
        keys.push((link.as_str(), config.checkout_link_rate));
    }
    request.state.limiter.hit_all(&keys, now).map_err(|wait| AppError::RateLimited { retry_after_secs: wait })
}

/// Result and return pages look payments up by id: a visitor may not walk
/// through ids (or make us ask KOMOJU) faster than a person would.
// The refusal is the page itself (a whole response), as axum handlers return.
#[allow(clippy::result_large_err)]
fn lookup_allowed(state: &AppState, peer: std::net::SocketAddr, headers: &HeaderMap) -> Result<(), Response> {
    let client = crate::server::request::client_ip_from(&state.config.trusted_proxies, peer, headers);
    let now = crate::server::db::now_ms();
    state.limiter.hit(&format!("lookup-ip:{client}"), state.config.lookup_rate, now).map_err(|wait| too_many(headers, wait))
}

fn too_many(headers: &HeaderMap, wait_secs: u32) -> Response {
    let locale = request_locale(headers);
    let error = AppError::RateLimited { retry_after_secs: wait_secs };
    let title = tr_error(locale, &error);
    let html = render(view! {
        <Document locale title=title.clone() og=None>
            <main id="main" class="checkout">
                <section class="checkout-message"><h1>{title}</h1></section>
            </main>
        </Document>
    });
    let mut response = html_response(StatusCode::TOO_MANY_REQUESTS, html);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait_secs));
    response
}

/// The customer's choice on the simulated PayPay page.
#[server(endpoint = "paypay_decision")]
pub async fn paypay_decision(slug: String, payment: String, approve: bool) -> Result<String, AppError> {
    let request = crate::server::request::Request::current()?;
    let payment = crate::server::checkout::paypay_decision(request.db(), &slug, &payment, approve).await?;
    let url = format!("/pay/{}/{}", payment.view.link_slug, payment.view.public_id);
    request.redirect_plain_form(&url);
    Ok(url)
}

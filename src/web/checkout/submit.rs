//! Taking a payment (the `pay` server function), the limits on how fast a
//! visitor may pay or look payments up, and the checkout's error pages.

use super::*;

pub(super) fn request_locale(headers: &HeaderMap) -> Locale {
    crate::server::locale::from_headers(headers)
}

pub(super) fn not_found(headers: &HeaderMap) -> Response {
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

pub(super) fn internal_error(headers: &HeaderMap) -> Response {
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
pub(super) fn form_error_url(form: &PayForm, error: &AppError) -> String {
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
pub(super) fn submit_allowed(request: &crate::server::request::Request, slug: &str) -> Result<(), AppError> {
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
pub(super) fn lookup_allowed(state: &AppState, peer: std::net::SocketAddr, headers: &HeaderMap) -> Result<(), Response> {
    let client = crate::server::request::client_ip_from(&state.config.trusted_proxies, peer, headers);
    let now = crate::server::db::now_ms();
    state.limiter.hit(&format!("lookup-ip:{client}"), state.config.lookup_rate, now).map_err(|wait| too_many(headers, wait))
}

pub(super) fn too_many(headers: &HeaderMap, wait_secs: u32) -> Response {
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

//! After the form: the result page, the return from KOMOJU's page and the
//! simulated PayPay approval page (with its server function).

use super::*;

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

pub(super) fn method_label(payment: &PaymentView, locale: Locale) -> String {
    match (&payment.method, &payment.card) {
        (Method::Card, Some(card)) => format!("{} •••• {}", card.brand.display_name(), card.last4),
        (Method::Card, None) => tr(locale, "checkout-method-card"),
        (Method::Konbini, _) => tr(locale, "checkout-method-konbini"),
        (Method::Paypay, _) => tr(locale, "checkout-method-paypay"),
        (Method::Komoju, _) => "KOMOJU".to_owned(),
    }
}

pub(super) async fn load_payment(state: &AppState, slug: &str, public_id: &str) -> Result<(CheckoutLink, PaymentView), AppError> {
    load_full(state, slug, public_id).await.map(|(link, payment)| (link, payment.view))
}

pub(super) async fn load_full(state: &AppState, slug: &str, public_id: &str) -> Result<(CheckoutLink, payments::Payment), AppError> {
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

/// The customer's choice on the simulated PayPay page.
#[server(endpoint = "paypay_decision")]
pub async fn paypay_decision(slug: String, payment: String, approve: bool) -> Result<String, AppError> {
    let request = crate::server::request::Request::current()?;
    let payment = crate::server::checkout::paypay_decision(request.db(), &slug, &payment, approve).await?;
    let url = format!("/pay/{}/{}", payment.view.link_slug, payment.view.public_id);
    request.redirect_plain_form(&url);
    Ok(url)
}

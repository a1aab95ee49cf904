//! A link's sales in the dashboard: the Total Sales Summary, its recent
//! payments and what the merchant can do to them (refund; in test mode also
//! mark a konbini payment paid, expire, simulate a chargeback).
use crate::domain::money::format_minor;
use crate::domain::payment::{Method, PaymentStatus, PaymentView, SalesStats};
use crate::domain::transactions::StatusFilter;
use crate::domain::{Currency, Mode};
use crate::error::AppError;
use crate::i18n::tr;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOfLink {
    pub currency: Currency,
    pub stats: SalesStats,
    pub recent: Vec<PaymentView>,
    /// Captured amount per day (net of refunds), oldest first, from `first_day`.
    pub daily: Vec<i64>,
    pub first_day: String,
}

/// Days the summary's chart covers.
pub const CHART_DAYS: usize = 30;

/// How many payments the link page lists (the Transactions page has them all).
#[cfg(feature = "ssr")]
const RECENT: i64 = 20;

#[server(endpoint = "link_sales")]
pub async fn link_sales(id: i64) -> Result<SalesOfLink, AppError> {
    use crate::server::{links, request::Request};
    let request = Request::current()?;
    let account = request.merchant().await?;
    let link = links::get(request.ctx(), &account, id).await?;
    sales_of(request.db(), &link).await
}

/// The summary's "pending payments" of a link, per status.
#[server(endpoint = "pending_breakdown")]
pub async fn pending_breakdown(id: i64) -> Result<Vec<(PaymentStatus, i64)>, AppError> {
    use crate::server::{links, payments, request::Request};
    let request = Request::current()?;
    let account = request.merchant().await?;
    let link = links::get(request.ctx(), &account, id).await?;
    payments::incomplete_by_status(request.db(), link.id).await
}

/// The summary, chart and recent payments of a link the caller owns.
#[cfg(feature = "ssr")]
pub async fn sales_of(db: &crate::server::db::Db, link: &crate::domain::link::LinkView) -> Result<SalesOfLink, AppError> {
    use crate::server::payments;
    let (first_day, daily) = crate::server::transactions::daily_captured(db, link.id, CHART_DAYS).await?;
    Ok(SalesOfLink {
        currency: link.currency,
        stats: payments::sales(db, link.id).await?,
        recent: payments::recent_for_link(db, link.id, RECENT).await?,
        daily,
        first_day,
    })
}

/// `action`: `refund` (with `amount`, empty = all that is left, and an
/// optional `reason`), or in test mode `mark_paid`, `expire`, `charge_back`.
#[server(endpoint = "payment_action")]
pub async fn payment_action(payment: String, action: String, amount: String, reason: String) -> Result<PaymentView, AppError> {
    use crate::domain::refund::RefundAmount;
    use crate::server::payments::{self, MerchantAction};
    use crate::server::request::Request;
    // `None`: a refund, parsed once the payment's currency is known.
    let action = match action.as_str() {
        "refund" => None,
        "mark_paid" => Some(MerchantAction::MarkPaid),
        "expire" => Some(MerchantAction::Expire),
        "charge_back" => Some(MerchantAction::ChargeBack),
        _ => return Err(AppError::BadRequest),
    };
    let request = Request::current()?;
    let account = request.merchant().await?;
    let payment = payments::owned(request.db(), &account, &payment).await?;
    let action = match action {
        Some(action) => action,
        None => payments::refund_request(&payment, |currency| RefundAmount::parse(&amount, currency), &reason)?,
    };
    Ok(payments::merchant_action(request.db(), &request.state.komoju, &account, payment, action).await?.view)
}

#[component]
pub fn LinkSalesPanel(link_id: i64, sales: SalesOfLink) -> impl IntoView {
    let i18n = use_i18n();
    let currency = sales.currency;
    let money = move |minor: i64| format_minor(minor, currency, i18n.locale());
    let s = sales.stats;
    let recent = if sales.recent.is_empty() {
        view! { <p class="empty">{i18n.text("payments-empty")}</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="payments">
                    <thead><tr>
                        <th>{i18n.text("payments-id")}</th>
                        <th>{i18n.text("payments-customer")}</th>
                        <th>{i18n.text("payments-method")}</th>
                        <th class="num">{i18n.text("payments-amount")}</th>
                        <th>{i18n.text("payments-status")}</th>
                    </tr></thead>
                    <tbody>
                        {sales.recent.into_iter().map(|p| view! { <PaymentRow payment=p/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card sales" aria-labelledby="sales-title">
            <h2 id="sales-title">{i18n.text("sales-title")}</h2>
            <dl class="sales-figures">
                <div><dt>{i18n.text("sales-captured-amount")}</dt><dd data-testid="captured-amount">{money(s.captured_amount)}</dd></div>
                <div><dt>{i18n.text("sales-captured-payments")}</dt><dd data-testid="captured-payments">{s.captured_payments}</dd></div>
                <div>
                    <dt>{i18n.text("sales-pending-payments")}</dt>
                    <dd data-testid="pending-payments">{s.pending_payments}</dd>
                    <PendingBreakdown link_id/>
                </div>
                <div><dt>{i18n.text("sales-refunded-payments")}</dt><dd data-testid="refunded-payments">{s.refunded_payments}</dd></div>
            </dl>
            <DailyChart daily=sales.daily first_day=sales.first_day currency/>
            <p><A href=format!("/dashboard/transactions?link={link_id}")>{i18n.text("sales-all-transactions")}</A></p>
        </section>
        <section class="card" aria-labelledby="payments-title">
            <h2 id="payments-title">{i18n.text("payments-title")}</h2>
            {recent}
        </section>
    }
}

/// "Pending payments" explained: started but not completed, counted per
/// status when opened, each a link to those transactions (whose "Awaiting
/// customer" filter is only one of them).
#[component]
fn PendingBreakdown(link_id: i64) -> impl IntoView {
    let i18n = use_i18n();
    // Counted when first opened (in the browser): nothing to hydrate.
    let counts = RwSignal::new(None::<Result<Vec<(PaymentStatus, i64)>, AppError>>);
    let asked = RwSignal::new(false);
    let open = move |_| {
        if asked.get_untracked() {
            return;
        }
        asked.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move { counts.set(Some(pending_breakdown(link_id).await)) });
    };
    view! {
        <details class="pending-breakdown" on:toggle=open>
            <summary>{i18n.text("sales-pending-explain")}</summary>
            {move || counts.get().map(|result| match result {
                    Err(e) => view! { <p class="error" role="alert">{i18n.error(&e)}</p> }.into_any(),
                    Ok(counts) => view! {
                        <ul data-testid="pending-breakdown">
                            {counts.into_iter().map(|(status, n)| {
                                let label = format!("payment-status-{}", status.as_str());
                                view! {
                                <li>
                                    <a href=format!("/dashboard/transactions?link={link_id}&status={}", status.as_str())>
                                        {move || i18n.tr(&label)}
                                    </a>
                                    ": "<span data-status=status.as_str()>{n}</span>
                                </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
        </details>
    }
}

/// How the customer paid, for the merchant's eyes.
pub fn method_label(payment: &PaymentView, locale: crate::domain::Locale) -> String {
    match (&payment.method, &payment.card, payment.konbini_store) {
        (Method::Card, Some(card), _) => format!("{} •••• {}", card.brand.display_name(), card.last4),
        (Method::Konbini, _, Some(store)) => format!("{} · {}", tr(locale, "method-konbini"), tr(locale, &store.message_id())),
        (method, _, _) => tr(locale, &format!("method-{}", method.as_str())),
    }
}

#[component]
fn PaymentRow(payment: PaymentView) -> impl IntoView {
    let i18n = use_i18n();
    let amount = format_minor(payment.amount, payment.currency, i18n.locale());
    let method = method_label(&payment, i18n.locale());
    let badge = StatusFilter::of(&payment);
    let id = payment.public_id.clone();
    let shown = id.clone();
    view! {
        <tr data-payment=id.clone()>
            <td><a href=format!("/dashboard/transactions/{id}")><code>{shown}</code></a></td>
            <td>{payment.customer_email.clone()}</td>
            <td>{method}</td>
            <td class="num">{amount}</td>
            <td><span class=format!("badge payment-{}", badge.as_str()) data-status=badge.as_str()>{move || i18n.tr(&badge.message_id())}</span></td>
        </tr>
    }
}

/// What can be done to a payment in its state: refund (with a confirmation
/// step, full or partial, with a reason), and in test mode mark a konbini
/// payment paid, expire an open one, simulate a chargeback.
#[component]
pub fn PaymentActions(payment: PaymentView, act: ServerAction<PaymentAction>, detailed: bool) -> impl IntoView {
    let i18n = use_i18n();
    let refundable = payment.state().map(|s| s.refundable()).unwrap_or(0);
    let test = payment.mode == Mode::Test;
    let open = payment.status.is_open();
    let konbini_open = open && payment.method == Method::Konbini;
    let captured = payment.status == PaymentStatus::Captured;
    let id = payment.public_id.clone();
    let simple = move |action: &'static str, label: &'static str| {
        let id = id.clone();
        view! {
            <ActionForm action=act attr:class="inline">
                <input type="hidden" name="payment" value=id/>
                <input type="hidden" name="action" value=action/>
                <input type="hidden" name="amount" value=""/>
                <input type="hidden" name="reason" value=""/>
                <button type="submit" class="button small">{move || i18n.tr(label)}</button>
            </ActionForm>
        }
    };
    let field = |name: &str| format!("{name}-{}-{}", if detailed { "detail" } else { "row" }, payment.public_id);
    let (amount_id, reason_id) = (field("refund-amount"), field("refund-reason"));
    let remaining = format_minor(refundable, payment.currency, i18n.locale());
    let refund_id = payment.public_id.clone();
    let nothing = refundable == 0 && !(test && (open || captured));
    view! {
        {(refundable > 0).then(|| view! {
            <details class="refund">
                <summary class="button small">{i18n.text("refund-submit")}</summary>
                <ActionForm action=act attr:class="stack refund-form">
                    <input type="hidden" name="payment" value=refund_id/>
                    <input type="hidden" name="action" value="refund"/>
                    <label for=amount_id.clone()>{i18n.text("refund-amount")}</label>
                    <input id=amount_id.clone() name="amount" class="refund-amount" inputmode="decimal"
                        placeholder=remaining.clone()/>
                    <p class="hint">{move || i18n.tr_args("refund-hint", &[("max", remaining.clone().into())])}</p>
                    <label for=reason_id.clone()>{i18n.text("refund-reason")}</label>
                    <input id=reason_id.clone() name="reason" maxlength="500"/>
                    <button type="submit" class="button small danger">{i18n.text("refund-confirm")}</button>
                </ActionForm>
            </details>
        })}
        {(test && konbini_open).then(|| simple("mark_paid", "payment-mark-paid"))}
        {(test && open).then(|| simple("expire", "payment-expire"))}
        {(test && captured).then(|| simple("charge_back", "payment-charge-back"))}
        {(nothing && detailed).then(|| view! { <p class="hint">{i18n.text("payment-no-actions")}</p> })}
    }
    // Erased: the nested forms' types are deep enough to hit the compiler's limit.
    .into_any()
}

/// Captured amount per day as SVG bars: the trend at a glance, no external
/// service. Each bar carries its date and amount for screen readers.
#[component]
fn DailyChart(daily: Vec<i64>, first_day: String, currency: Currency) -> impl IntoView {
    let i18n = use_i18n();
    const W: f64 = 600.0;
    const H: f64 = 120.0;
    let max = daily.iter().copied().max().unwrap_or(0).max(1) as f64;
    let slot = W / daily.len().max(1) as f64;
    let days = crate::domain::link::days_from(&first_day, daily.len());
    let last_day = days.last().cloned().unwrap_or_default();
    let total: i64 = daily.iter().sum();
    let bars = daily
        .iter()
        .zip(days)
        .enumerate()
        .map(|(i, (amount, day))| {
            let h = if *amount > 0 { (*amount as f64 / max * (H - 4.0)).max(2.0) } else { 0.0 };
            let label = format!("{day}: {}", format_minor(*amount, currency, i18n.locale()));
            view! {
                <rect x=format!("{:.1}", i as f64 * slot + 1.0) y=format!("{:.1}", H - h) width=format!("{:.1}", slot - 2.0)
                    height=format!("{h:.1}") rx="2"><title>{label}</title></rect>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid="daily-chart">
            <figcaption>{i18n.text("sales-chart-title")}" · "{format_minor(total, currency, i18n.locale())}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img"
                aria-label=i18n.text("sales-chart-title")>
                <line x1="0" y1=H x2=W y2=H class="axis"/>
                {bars}
            </svg>
            <div class="chart-range"><span>{first_day.clone()}</span><span>{last_day}</span></div>
        </figure>
    }
}

//! A link's sales in the dashboard: the Total Sales Summary, its recent
//! payments and what the merchant can do to them (refund; in test mode also
//! mark a konbini payment paid, expire, simulate a chargeback).
use crate::components::form::{action_error, FormMessage};
use crate::domain::money::format_minor;
use crate::domain::payment::{Method, PaymentStatus, PaymentView, SalesStats};
use crate::domain::{Currency, Mode};
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOfLink {
    pub currency: Currency,
    pub stats: SalesStats,
    pub recent: Vec<PaymentView>,
}

/// How many payments the link page lists (the Transactions page has them all).
#[cfg(feature = "ssr")]
const RECENT: i64 = 20;

#[server(endpoint = "link_sales")]
pub async fn link_sales(id: i64) -> Result<SalesOfLink, AppError> {
    use crate::server::{links, payments, request::Request};
    let request = Request::current()?;
    let account = request.require_account().await?;
    account.require_merchant()?;
    let link = links::get(request.db(), &request.state.config.public_url, &account, id).await?;
    Ok(SalesOfLink {
        currency: link.currency,
        stats: payments::sales(request.db(), link.id).await?,
        recent: payments::recent_for_link(request.db(), link.id, RECENT).await?,
    })
}

/// `action`: `refund` (with `amount`, empty = all that is left, and an
/// optional `reason`), or in test mode `mark_paid`, `expire`, `charge_back`.
#[server(endpoint = "payment_action")]
pub async fn payment_action(payment: String, action: String, amount: String, reason: String) -> Result<PaymentView, AppError> {
    use crate::server::payments::{self, MerchantAction};
    use crate::server::request::Request;
    let action = match action.as_str() {
        "refund" => MerchantAction::Refund { amount, reason },
        "mark_paid" => MerchantAction::MarkPaid,
        "expire" => MerchantAction::Expire,
        "charge_back" => MerchantAction::ChargeBack,
        _ => return Err(AppError::BadRequest),
    };
    let request = Request::current()?;
    let account = request.require_account().await?;
    Ok(payments::merchant_action(request.db(), &request.state.komoju, &account, &payment, action).await?.view)
}

/// The status as the merchant reads it: a partially refunded payment is
/// still captured, but says so.
pub fn status_label_id(payment: &PaymentView) -> &'static str {
    match payment.status {
        PaymentStatus::Captured if payment.refunded_amount > 0 => "payment-status-partially-refunded",
        PaymentStatus::Pending => "payment-status-pending",
        PaymentStatus::Authorized => "payment-status-authorized",
        PaymentStatus::Captured => "payment-status-captured",
        PaymentStatus::Refunded => "payment-status-refunded",
        PaymentStatus::Failed => "payment-status-failed",
        PaymentStatus::Expired => "payment-status-expired",
        PaymentStatus::Cancelled => "payment-status-cancelled",
        PaymentStatus::ChargedBack => "payment-status-charged-back",
    }
}

#[component]
pub fn LinkSalesPanel(link_id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let act = ServerAction::<PaymentAction>::new();
    let sales = Resource::new(move || (link_id, act.version().get()), |(id, _)| link_sales(id));
    let error = action_error(act);
    view! {
        <Transition fallback=|| ()>
            {move || sales.get().map(|result| match result {
                Err(e) => view! { <p class="error">{i18n.error(&e)}</p> }.into_any(),
                Ok(sales) => {
                    let money = move |minor: i64| format_minor(minor, sales.currency, i18n.locale());
                    let s = sales.stats;
                    view! {
                        <section class="card sales" aria-labelledby="sales-title">
                            <h2 id="sales-title">{move || i18n.tr("sales-title")}</h2>
                            <dl class="sales-figures">
                                <div><dt>{move || i18n.tr("sales-captured-amount")}</dt><dd data-testid="captured-amount">{money(s.captured_amount)}</dd></div>
                                <div><dt>{move || i18n.tr("sales-captured-payments")}</dt><dd data-testid="captured-payments">{s.captured_payments}</dd></div>
                                <div><dt>{move || i18n.tr("sales-pending-payments")}</dt><dd data-testid="pending-payments">{s.pending_payments}</dd></div>
                                <div><dt>{move || i18n.tr("sales-refunded-payments")}</dt><dd data-testid="refunded-payments">{s.refunded_payments}</dd></div>
                            </dl>
                        </section>
                        <section class="card" aria-labelledby="payments-title">
                            <h2 id="payments-title">{move || i18n.tr("payments-title")}</h2>
                            <FormMessage error/>
                            {if sales.recent.is_empty() {
                                view! { <p class="empty">{move || i18n.tr("payments-empty")}</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap">
                                        <table class="payments">
                                            <thead><tr>
                                                <th>{move || i18n.tr("payments-id")}</th>
                                                <th>{move || i18n.tr("payments-customer")}</th>
                                                <th>{move || i18n.tr("payments-method")}</th>
                                                <th class="num">{move || i18n.tr("payments-amount")}</th>
                                                <th>{move || i18n.tr("payments-status")}</th>
                                                <th>{move || i18n.tr("payments-actions")}</th>
                                            </tr></thead>
                                            <tbody>
                                                {sales.recent.into_iter().map(|p| view! { <PaymentRow payment=p act/> }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                        </section>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn PaymentRow(payment: PaymentView, act: ServerAction<PaymentAction>) -> impl IntoView {
    let i18n = use_i18n();
    let amount = format_minor(payment.amount, payment.currency, i18n.locale());
    let method = match (&payment.method, &payment.card) {
        (Method::Card, Some(card)) => format!("{} •••• {}", card.brand.display_name(), card.last4),
        (Method::Konbini, _) => "Konbini".to_owned(),
        (Method::Paypay, _) => "PayPay".to_owned(),
        (Method::Komoju, _) => "KOMOJU".to_owned(),
        (Method::Card, None) => "Card".to_owned(),
    };
    let refundable = payment.state().map(|s| s.refundable()).unwrap_or(0);
    let test = payment.mode == Mode::Test;
    let open = payment.status.is_open();
    let konbini_open = open && payment.method == Method::Konbini;
    let captured = payment.status == PaymentStatus::Captured;
    let status_id = status_label_id(&payment);
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
    let refund_label = format!("refund-{}", payment.public_id);
    let refund_id = payment.public_id.clone();
    view! {
        <tr data-payment=payment.public_id.clone()>
            <td><code>{payment.public_id.clone()}</code></td>
            <td>{payment.customer_email.clone()}</td>
            <td>{method}</td>
            <td class="num">{amount}</td>
            <td><span class=format!("badge payment-{}", payment.status.as_str())>{move || i18n.tr(status_id)}</span></td>
            <td class="payment-actions">
                {(refundable > 0).then(|| view! {
                    <ActionForm action=act attr:class="inline refund-form">
                        <input type="hidden" name="payment" value=refund_id/>
                        <input type="hidden" name="action" value="refund"/>
                        <input type="hidden" name="reason" value=""/>
                        <label class="visually-hidden" for=refund_label.clone()>{move || i18n.tr("refund-amount")}</label>
                        <input id=refund_label.clone() name="amount" class="refund-amount" inputmode="decimal"
                            placeholder=move || i18n.tr("refund-all")/>
                        <button type="submit" class="button small">{move || i18n.tr("refund-submit")}</button>
                    </ActionForm>
                })}
                {(test && konbini_open).then(|| simple("mark_paid", "payment-mark-paid"))}
                {(test && open).then(|| simple("expire", "payment-expire"))}
                {(test && captured).then(|| simple("charge_back", "payment-charge-back"))}
            </td>
        </tr>
    }
}

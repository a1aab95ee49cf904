//! Transactions: every payment of the current mode, filtered and paginated,
//! exported as CSV; and one payment with its history and actions.
use super::payments::{method_label, PaymentAction, PaymentActions};
use crate::components::form::{action_error, FormMessage};
use crate::components::session::use_session;
use crate::domain::money::format_minor;
use crate::domain::payment::{Method, PaymentEvent, PaymentStatus, PaymentView};
use crate::domain::transactions::{StatusFilter, TransactionQuery};
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionPage {
    pub rows: Vec<PaymentView>,
    /// Cursor of the next page, if there is one.
    pub next: Option<String>,
    /// The merchant's links in this mode, for the filter menu.
    pub links: Vec<(i64, String)>,
}

#[server(endpoint = "transactions")]
pub async fn transactions(#[server(default)] query: TransactionQuery) -> Result<TransactionPage, AppError> {
    use crate::domain::transactions::PAGE_SIZE;
    use crate::server::{request::Request, transactions};
    let request = Request::current()?;
    let account = request.merchant().await?;
    let filter = query.parse(account.time_zone).map_err(|(field, e)| AppError::invalid(field, e))?;
    let (rows, next) = transactions::list(request.db(), &account, &filter, PAGE_SIZE).await?;
    Ok(TransactionPage { rows, next: next.map(|c| c.encode()), links: transactions::link_choices(request.db(), &account).await? })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentWithHistory {
    pub payment: PaymentView,
    pub events: Vec<PaymentEvent>,
}

#[server(endpoint = "payment_detail")]
pub async fn payment_detail(id: String) -> Result<PaymentWithHistory, AppError> {
    use crate::server::{payments, request::Request};
    let request = Request::current()?;
    let account = request.merchant().await?;
    let payment = payments::owned(request.db(), &account, &id).await?;
    let events = payments::events(request.db(), payment.id).await?;
    Ok(PaymentWithHistory { payment: payment.view, events })
}

fn query_from_url(get: impl Fn(&str) -> Option<String>) -> TransactionQuery {
    let field = |k: &str| get(k).unwrap_or_default();
    TransactionQuery {
        link: field("link"),
        status: field("status"),
        method: field("method"),
        from: field("from"),
        to: field("to"),
        q: field("q"),
        after: field("after"),
    }
}

#[component]
pub fn TransactionsPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let url = use_query_map();
    let query = Memo::new(move |_| url.with(|m| query_from_url(|k| m.get(k))));
    let page = Resource::new(move || (query.get(), session.get().map(|a| a.mode)), |(q, _)| transactions(q));
    view! {
        <Title text=i18n.text("transactions-title")/>
        <div class="page-head">
            <h1>{i18n.text("transactions-title")}</h1>
            <a class="button" rel="external"
                href=move || format!("/export/transactions.csv?{}", query.get().to_query_string(None))>
                {i18n.text("transactions-export")}
            </a>
        </div>
        <Transition fallback=|| ()>
            {move || page.get().map(|result| {
                let q = query.get();
                match result {
                    Err(e) => view! {
                        <Filters query=q links=vec![]/>
                        <p class="error" role="alert">{i18n.error(&e)}</p>
                    }.into_any(),
                    Ok(page) => view! {
                        <Filters query=q.clone() links=page.links.clone()/>
                        <TransactionsTable page query=q/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A GET form: filters live in the URL, so they can be bookmarked, shared
/// with a colleague, and work without JavaScript.
#[component]
fn Filters(query: TransactionQuery, links: Vec<(i64, String)>) -> impl IntoView {
    let i18n = use_i18n();
    let q = query.clone();
    view! {
        <form method="get" action="/dashboard/transactions" class="filters card" role="search">
            <div class="filter">
                <label for="tx-link">{i18n.text("transactions-link")}</label>
                <select id="tx-link" name="link">
                    <option value="">{i18n.text("transactions-any")}</option>
                    {links.into_iter().map(|(id, name)| {
                        let selected = q.link == id.to_string();
                        view! { <option value=id.to_string() selected=selected>{name}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="tx-status">{i18n.text("payments-status")}</label>
                <select id="tx-status" name="status">
                    <option value="">{i18n.text("transactions-any")}</option>
                    {StatusFilter::ALL.into_iter().map(|s| {
                        let selected = query.status == s.as_str();
                        view! { <option value=s.as_str() selected=selected>{move || i18n.tr(&s.message_id())}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="tx-method">{i18n.text("payments-method")}</label>
                <select id="tx-method" name="method">
                    <option value="">{i18n.text("transactions-any")}</option>
                    {Method::ALL.into_iter().map(|m| {
                        let selected = query.method == m.as_str();
                        view! { <option value=m.as_str() selected=selected>{move || i18n.tr(&format!("method-{}", m.as_str()))}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="tx-from">{i18n.text("transactions-from")}</label>
                <input id="tx-from" name="from" type="date" value=query.from.clone()/>
            </div>
            <div class="filter">
                <label for="tx-to">{i18n.text("transactions-to")}</label>
                <input id="tx-to" name="to" type="date" value=query.to.clone()/>
            </div>
            <div class="filter grow">
                <label for="tx-q">{i18n.text("transactions-search")}</label>
                <input id="tx-q" name="q" type="search" value=query.q.clone() placeholder="pay_… / taro@example.jp"/>
            </div>
            <div class="filter-actions">
                <button type="submit" class="button primary">{i18n.text("transactions-apply")}</button>
                <a class="button" href="/dashboard/transactions">{i18n.text("transactions-reset")}</a>
            </div>
        </form>
    }
}

#[component]
fn TransactionsTable(page: TransactionPage, query: TransactionQuery) -> impl IntoView {
    let i18n = use_i18n();
    if page.rows.is_empty() {
        return view! { <p class="empty">{i18n.text("transactions-empty")}</p> }.into_any();
    }
    let tz = crate::components::session::use_time_zone();
    let rows = page
        .rows
        .into_iter()
        .map(|p| {
            let created_at = p.created_at;
            let amount = format_minor(p.amount, p.currency, i18n.locale());
            let badge = StatusFilter::of(&p);
            let method = method_label(&p, i18n.locale());
            let (id, name) = (p.public_id.clone(), p.link_name.clone());
            let shown = id.clone();
            view! {
                <tr data-payment=id.clone()>
                    <td>{move || tz.get().display(created_at, false)}</td>
                    <td><a href=format!("/dashboard/transactions/{id}")><code>{shown}</code></a></td>
                    <td><a href=format!("/dashboard/links/{}", p.link_id)>{name}</a></td>
                    <td>{p.customer_email.clone()}</td>
                    <td>{method}</td>
                    <td class="num">{amount}</td>
                    <td><span class=format!("badge payment-{}", badge.as_str()) data-status=badge.as_str()>{move || i18n.tr(&badge.message_id())}</span></td>
                </tr>
            }
        })
        .collect_view();
    let next = page.next.map(|cursor| {
        let href = format!("/dashboard/transactions?{}", query.to_query_string(Some(&cursor)));
        view! { <p><a href=href class="button">{i18n.text("links-next")}</a></p> }
    });
    view! {
        <div class="table-wrap card">
            <table class="payments transactions">
                <thead><tr>
                    <th scope="col">{move || i18n.tr_zone("transactions-date", tz.get())}</th>
                    <th scope="col">{i18n.text("payments-id")}</th>
                    <th scope="col">{i18n.text("transactions-link")}</th>
                    <th scope="col">{i18n.text("payments-customer")}</th>
                    <th scope="col">{i18n.text("payments-method")}</th>
                    <th scope="col" class="num">{i18n.text("payments-amount")}</th>
                    <th scope="col">{i18n.text("payments-status")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {next}
    }
    .into_any()
}

#[component]
pub fn PaymentDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let act = ServerAction::<PaymentAction>::new();
    let error = action_error(act);
    let detail = Resource::new(move || (id(), act.version().get()), |(id, _)| payment_detail(id));
    view! {
        <Transition fallback=|| ()>
            {move || detail.get().map(|result| match result {
                Err(error) => view! { <crate::pages::LoadError error/> }.into_any(),
                Ok(detail) => view! { <PaymentDetailView detail act error/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn PaymentDetailView(detail: PaymentWithHistory, act: ServerAction<PaymentAction>, error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let p = detail.payment;
    let money = move |minor: i64| format_minor(minor, p.currency, i18n.locale());
    let badge = StatusFilter::of(&p);
    let link_name = p.link_name.clone();
    let row = |label: &'static str, value: Option<String>| value.map(|v| view! { <dt>{move || i18n.tr(label)}</dt><dd>{v}</dd> });
    let tz = crate::components::session::use_time_zone();
    // A time in the merchant's zone, its label naming the zone.
    let time_row = move |label: &'static str, at: Option<i64>| {
        at.map(|at| view! { <dt>{move || i18n.tr_zone(label, tz.get())}</dt><dd>{move || tz.get().display(at, false)}</dd> })
    };
    let events = detail
        .events
        .into_iter()
        .map(|e| {
            let at = e.created_at;
            let amount = e.amount.map(|a| format!(" · {}", format_minor(a, p.currency, i18n.locale())));
            let label = format!("event-{}", e.kind.replace('_', "-"));
            view! {
                <li data-kind=e.kind.clone()>
                    <time>{move || tz.get().display(at, false)}</time>
                    " "<strong>{move || i18n.tr(&label)}</strong>
                    {amount}
                    {e.detail.clone().map(|d| view! { <span class="hint">" — "{d}</span> })}
                </li>
            }
        })
        .collect_view();
    // A live capture the link would not have taken: what happens to it.
    let unwanted = p.unwanted.and_then(|why| {
        let headline = match (p.status, p.auto_refund_due) {
            (PaymentStatus::Refunded, _) => "unwanted-refunded",
            (_, true) => "unwanted-refunding",
            (PaymentStatus::Captured, false) => "unwanted-failed",
            // Charged back: the network took the money back; nothing to refund.
            _ => return None,
        };
        let why = why.message_id();
        Some(view! {
            <section class="card notice" role="status" data-testid="unwanted">
                <p><strong>{move || i18n.tr(headline)}</strong></p>
                <p>{move || i18n.tr(&why)}</p>
            </section>
        })
    });
    view! {
        <Title text=p.public_id.clone()/>
        <p><A href="/dashboard/transactions">{i18n.text("transactions-back")}</A></p>
        <div class="page-head">
            <h1><code>{p.public_id.clone()}</code></h1>
            <span class=format!("badge payment-{}", badge.as_str()) data-status=badge.as_str() data-testid="payment-status">
                {move || i18n.tr(&badge.message_id())}
            </span>
        </div>
        <section class="card">
            <dl class="facts">
                {row("payments-amount", Some(money(p.amount)))}
                {row("transactions-refunded", (p.refunded_amount > 0).then(|| money(p.refunded_amount)))}
                <dt>{i18n.text("transactions-link")}</dt>
                <dd><A href=format!("/dashboard/links/{}", p.link_id)>{link_name}</A></dd>
                {time_row("transactions-date", Some(p.created_at))}
                {time_row("transactions-captured-at", p.captured_at)}
                {row("payments-customer", p.customer_email.clone())}
                {row("transactions-name", p.customer_name.clone())}
                {row("payments-method", Some(method_label(&p, i18n.locale())))}
                {row("transactions-card-expiry", p.card.as_ref().map(|c| c.expiry.clone()))}
                {row("transactions-konbini-number", p.konbini_number.clone())}
                {time_row("transactions-deadline", p.status.is_open().then_some(p.deadline_at))}
                {row("transactions-failure", p.failure_reason.map(|r| i18n.tr(&r.message_id())))}
            </dl>
        </section>
        {unwanted}
        <section class="card">
            <h2>{i18n.text("payments-actions")}</h2>
            <FormMessage error/>
            <PaymentActions payment=p.clone() act detailed=true/>
        </section>
        <section class="card">
            <h2>{i18n.text("transactions-history")}</h2>
            <ol class="timeline" data-testid="timeline">{events}</ol>
        </section>
    }
}

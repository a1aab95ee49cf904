//! Payment links in the dashboard: list, create (full and quick), detail and edit.
use super::notifications::{LinkNotifications, SetLinkNotifications};
use crate::components::form::{action_error, FieldMessage, FormMessage};
use crate::components::session::use_session;
use crate::domain::application::SctaItem;
use crate::domain::fields::url_encode;
use crate::domain::fields::FieldError;
use crate::domain::link::{Availability, LinkInput, LinkPage, LinkStatus, LinkView};
use crate::domain::money::format_minor;
use crate::domain::{Currency, Locale, Mode};
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

mod form;

use form::LinkFieldsView;

#[cfg(feature = "ssr")]
use crate::server::{links, request::Request};

#[cfg(feature = "ssr")]
async fn merchant() -> Result<(Request, crate::server::auth::Merchant), AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    Ok((request, account))
}

#[server(endpoint = "create_link")]
pub async fn create_link(link: LinkInput) -> Result<LinkView, AppError> {
    let (request, account) = merchant().await?;
    let new_link = link.new_link(account.locale, account.time_zone, crate::server::db::now_ms())?;
    let created = links::create(request.ctx(), &account, &new_link).await?;
    request.redirect_plain_form(&format!("/dashboard/links/{}", created.id));
    Ok(created)
}

#[server(endpoint = "update_link")]
pub async fn update_link(id: i64, link: LinkInput) -> Result<LinkView, AppError> {
    let (request, account) = merchant().await?;
    let patch = link.patch(account.time_zone, crate::server::db::now_ms())?;
    links::update(request.ctx(), &account, id, patch).await
}

#[server(endpoint = "set_link_status")]
pub async fn set_link_status(id: i64, status: String) -> Result<LinkView, AppError> {
    let status = LinkStatus::parse(&status).ok_or(AppError::BadRequest)?;
    let (request, account) = merchant().await?;
    links::set_status(request.ctx(), &account, id, status).await
}

#[server(endpoint = "get_link")]
pub async fn get_link(id: i64) -> Result<LinkView, AppError> {
    let (request, account) = merchant().await?;
    links::get(request.ctx(), &account, id).await
}

/// The link page's data in one call: a resource whose fetcher awaited two
/// server functions would look up the request context after an await, which
/// fails when SSR re-creates the page (and hydration then disagrees).
#[server(endpoint = "link_overview")]
pub async fn link_overview(id: i64) -> Result<(LinkView, super::payments::SalesOfLink, LinkNotifications), AppError> {
    let (request, account) = merchant().await?;
    let link = links::get(request.ctx(), &account, id).await?;
    let sales = super::payments::sales_of(request.db(), &link).await?;
    let (on, choice) = crate::server::email::notify::link_notifications(request.db(), &account, id).await?;
    Ok((link, sales, LinkNotifications { on, account: choice }))
}

#[server(endpoint = "list_links")]
pub async fn list_links(q: String, after: String) -> Result<LinkPage, AppError> {
    let (request, account) = merchant().await?;
    links::list(request.ctx(), &account, &links::LinkFilter::search(&q), Some(&after)).await
}

fn availability_message(a: Availability) -> &'static str {
    match a {
        Availability::Active => "link-status-active",
        Availability::Inactive => "link-status-inactive",
        Availability::Expired => "link-status-expired",
        Availability::LimitReached => "link-status-limit-reached",
    }
}

#[component]
fn StatusBadge(availability: Availability) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span class=format!("badge link-{}", availability.as_str()) data-status=availability.as_str()>
            {move || i18n.tr(availability_message(availability))}
        </span>
    }
}

#[component]
pub fn LinksPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let after = move || query.read().get("after").unwrap_or_default();
    // The list follows the mode: refetch when the session (mode) changes.
    let page = Resource::new(move || (q(), after(), session.get().map(|a| a.mode)), |(q, after, _)| list_links(q, after));
    view! {
        <Title text=i18n.text("links-title")/>
        <div class="page-head">
            <h1>{i18n.text("links-title")}</h1>
            <div class="actions">
                <A href="/dashboard/links/quick" attr:class="button">{i18n.text("links-quick")}</A>
                <A href="/dashboard/links/new" attr:class="button primary">{i18n.text("links-create")}</A>
            </div>
        </div>
        <form method="get" action="/dashboard/links" class="search" role="search">
            <label for="links-q" class="visually-hidden">{i18n.text("links-search")}</label>
            <input id="links-q" name="q" type="search" value=q placeholder=i18n.text("links-search")/>
            <button type="submit" class="button">{i18n.text("links-search-button")}</button>
        </form>
        <Transition fallback=|| ()>
            {move || page.get().map(|result| match result {
                Err(e) => view! { <p class="error" role="alert">{i18n.error(&e)}</p> }.into_any(),
                Ok(page) if page.links.is_empty() => view! { <p class="empty">{i18n.text("links-empty")}</p> }.into_any(),
                Ok(page) => view! { <LinksTable page q=q()/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn LinksTable(page: LinkPage, q: String) -> impl IntoView {
    let i18n = use_i18n();
    let tz = crate::components::session::use_time_zone();
    let rows = page
        .links
        .into_iter()
        .map(|link| {
            let created_at = link.created_at;
            let price = format_minor(link.amount, link.currency, i18n.locale());
            view! {
                <tr data-link-id=link.id>
                    <td><a href=format!("/dashboard/links/{}", link.id)>{link.name.clone()}</a></td>
                    <td class="num">{price}</td>
                    <td><StatusBadge availability=link.availability/></td>
                    <td class="num">{link.captured_payments}</td>
                    <td>{move || tz.get().date(created_at)}</td>
                </tr>
            }
        })
        .collect_view();
    let next = page.next.map(|cursor| {
        let href = format!("/dashboard/links?q={}&after={cursor}", url_encode(&q));
        view! { <a href=href class="button">{i18n.text("links-next")}</a> }
    });
    view! {
        <div class="table-wrap">
            <table class="links-table">
                <thead>
                    <tr>
                        <th scope="col">{i18n.text("link-field-name")}</th>
                        <th scope="col" class="num">{i18n.text("link-field-amount")}</th>
                        <th scope="col">{i18n.text("link-field-status")}</th>
                        <th scope="col" class="num">{i18n.text("links-captured")}</th>
                        <th scope="col">{i18n.text("links-created")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {next}
    }
}

/// The link id of the route (`/dashboard/links/:id…`); 0, which no link
/// has, when it is not a number.
fn link_id_param() -> impl Fn() -> i64 + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0)
}

/// Opens the link's page once `action` (create or update) saved it.
fn open_saved_link<S>(action: ServerAction<S>)
where
    S: ServerFn<Output = LinkView> + Clone + Send + Sync + 'static,
    S::Error: Clone + Send + Sync + 'static,
{
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(link)) = action.value().get() {
            navigate(&format!("/dashboard/links/{}", link.id), Default::default());
        }
    });
}

#[component]
fn CreateLinkForm(quick: bool) -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<CreateLink>::new();
    let error = action_error(action);
    open_saved_link(action);
    let title = if quick { "links-quick" } else { "links-create" };
    view! {
        <Title text=move || i18n.tr(title)/>
        <h1>{move || i18n.tr(title)}</h1>
        <ActionForm action=action attr:class="stack link-form" attr:novalidate=true>
            <LinkFieldsView error quick/>
            <div class="actions">
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    {i18n.text("link-save")}
                </button>
                <A href="/dashboard/links" attr:class="button">{i18n.text("link-cancel")}</A>
            </div>
        </ActionForm>
    }
}

#[component]
pub fn NewLinkPage() -> impl IntoView {
    view! { <CreateLinkForm quick=false/> }
}

#[component]
pub fn QuickLinkPage() -> impl IntoView {
    view! { <CreateLinkForm quick=true/> }
}

#[component]
pub fn LinkDetailPage() -> impl IntoView {
    let id = link_id_param();
    let toggle = ServerAction::<SetLinkStatus>::new();
    let notify = ServerAction::<SetLinkNotifications>::new();
    // The link, its sales and its emails in one resource: one boundary to hydrate.
    let link = Resource::new(move || (id(), toggle.version().get(), notify.version().get()), |(id, _, _)| link_overview(id));
    view! {
        <Transition fallback=|| ()>
            {move || link.get().map(|result| match result {
                Err(error) => view! { <crate::pages::LoadError error/> }.into_any(),
                Ok((link, sales, emails)) => view! { <LinkDetail link sales emails toggle notify/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn LinkDetail(
    link: LinkView,
    sales: super::payments::SalesOfLink,
    emails: LinkNotifications,
    toggle: ServerAction<SetLinkStatus>,
    notify: ServerAction<SetLinkNotifications>,
) -> impl IntoView {
    let i18n = use_i18n();
    let toggle_error = action_error(toggle);
    let next_status = if link.status == LinkStatus::Active { LinkStatus::Inactive } else { LinkStatus::Active };
    let price = format_minor(link.amount, link.currency, i18n.locale());
    let (used, limit, reserved) = (link.captured_count, link.usage_limit, link.reserved_count);
    let usage = move || match limit {
        Some(limit) if reserved > 0 => format!(
            "{} {}",
            i18n.tr_args("link-usage", &[("used", used.into()), ("limit", limit.into())]),
            i18n.tr_args("link-usage-reserved", &[("reserved", reserved.into())])
        ),
        Some(limit) => i18n.tr_args("link-usage", &[("used", used.into()), ("limit", limit.into())]),
        None => i18n.tr("link-no-limit"),
    };
    let expires_at = link.expires_at;
    let tz = crate::components::session::use_time_zone();
    let expiry = move || match expires_at {
        Some(at) => tz.get().display(at, false),
        None => i18n.tr("link-never-expires"),
    };
    view! {
        <Title text=link.name.clone()/>
        <div class="page-head">
            <h1>{link.name.clone()}</h1>
            <StatusBadge availability=link.availability/>
        </div>
        <section class="card link-summary">
            {link.image_url.clone().map(|src| view! { <img class="product-image" src=src alt="" width="240"/> })}
            <p class="price">{price}</p>
            <dl class="facts">
                <dt>{i18n.text("link-field-usage-limit")}</dt>
                <dd data-testid="link-usage">{usage}</dd>
                <dt>{i18n.text("link-field-expires-at")}</dt>
                <dd data-testid="link-expiry">{expiry}</dd>
            </dl>
            <div class="actions">
                <A href=format!("/dashboard/links/{}/edit", link.id) attr:class="button">{i18n.text("link-edit")}</A>
                <ActionForm action=toggle attr:class="inline">
                    <input type="hidden" name="id" value=link.id/>
                    <input type="hidden" name="status" value=next_status.as_str()/>
                    <button type="submit" class="button">
                        {i18n.text(if next_status == LinkStatus::Inactive { "link-deactivate" } else { "link-reactivate" })}
                    </button>
                </ActionForm>
            </div>
            <FormMessage error=toggle_error/>
        </section>
        <crate::components::SharePanel url=link.url.clone() name=link.name.clone() slug=link.slug.clone() test=link.mode == Mode::Test/>
        <super::payments::LinkSalesPanel link_id=link.id sales/>
        <super::notifications::LinkNotificationsCard link_id=link.id state=emails action=notify/>
    }
}

/// The edit form on its own page (the detail page stays light): saving
/// returns to the link.
#[component]
pub fn EditLinkPage() -> impl IntoView {
    let id = link_id_param();
    let link = Resource::new(id, get_link);
    view! {
        <Transition fallback=|| ()>
            {move || link.get().map(|result| match result {
                Err(error) => view! { <crate::pages::LoadError error/> }.into_any(),
                Ok(link) => view! { <EditLinkForm link/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn EditLinkForm(link: LinkView) -> impl IntoView {
    let i18n = use_i18n();
    let update = ServerAction::<UpdateLink>::new();
    let error = action_error(update);
    open_saved_link(update);
    let back = format!("/dashboard/links/{}", link.id);
    view! {
        <Title text=link.name.clone()/>
        <h1>{i18n.text("link-edit")}</h1>
        <ActionForm action=update attr:class="stack link-form" attr:novalidate=true>
            <input type="hidden" name="id" value=link.id/>
            <LinkFieldsView error link=link.clone()/>
            <div class="actions">
                <button type="submit" class="button primary" disabled=move || update.pending().get()>
                    {i18n.text("link-save")}
                </button>
                <A href=back attr:class="button">{i18n.text("link-cancel")}</A>
            </div>
        </ActionForm>
    }
}

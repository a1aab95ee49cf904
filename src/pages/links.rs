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

/// A product image, checked and stored; the link forms refer to it by hash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadedImage {
    pub sha: String,
    pub url: String,
}

#[server(endpoint = "upload_image", input = leptos::server_fn::codec::MultipartFormData)]
pub async fn upload_image(data: leptos::server_fn::codec::MultipartData) -> Result<UploadedImage, AppError> {
    use crate::domain::fields::FieldError;
    use crate::server::images::{self, MAX_BYTES};
    let (request, account) = merchant().await?;
    let mut multipart = data.into_inner().ok_or(AppError::BadRequest)?;
    let too_large = || AppError::invalid("image", FieldError::ImageTooLarge);
    let mut bytes = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(|_| too_large())? {
        if field.name() != Some("image") {
            continue;
        }
        while let Some(chunk) = field.chunk().await.map_err(|_| too_large())? {
            // Stop reading as soon as the file is too big.
            if bytes.len() + chunk.len() > MAX_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    let sha = images::store(request.db(), account.id, bytes).await?;
    Ok(UploadedImage { url: images::url(&sha), sha })
}

/// The SCTA items a description should state because the merchant's SCTA
/// page does not (all of them while the page is empty).
#[server(endpoint = "scta_gaps")]
pub async fn scta_gaps() -> Result<Vec<SctaItem>, AppError> {
    let (request, account) = merchant().await?;
    let page = crate::server::accounts::application(request.db(), account.id).await?;
    Ok(SctaItem::missing_from(&page.form))
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

/// Picks, checks (on the server) and previews the product image; the form
/// submits its hash in `link[image]`.
#[component]
fn ImagePicker(initial: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let initial_sha = initial.as_ref().and_then(|url| url.rsplit('/').next()).unwrap_or_default().to_owned();
    let chosen = RwSignal::new(initial.map(|url| UploadedImage { sha: initial_sha, url }));
    let error = RwSignal::new(None::<AppError>);
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input: web_sys::HtmlInputElement = ev.target().expect("input").unchecked_into();
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                let data = web_sys::FormData::new().expect("FormData");
                let _ = data.append_with_blob("image", &file);
                error.set(None);
                leptos::task::spawn_local(async move {
                    match upload_image(data.into()).await {
                        Ok(image) => chosen.set(Some(image)),
                        Err(e) => error.set(Some(e)),
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, error);
    };
    let error: Signal<Option<AppError>> = error.into();
    view! {
        <div class="field image-field">
            <label for="link-image-file">{i18n.text("link-field-image")}</label>
            <input id="link-image-file" type="file" accept="image/png,image/jpeg" on:change=on_change/>
            <input type="hidden" name="link[image]" value=move || chosen.get().map(|i| i.sha).unwrap_or_default()/>
            <p class="hint">{i18n.text("link-image-hint")}</p>
            <FieldMessage error field="image"/>
            {move || chosen.get().map(|image| view! {
                <div class="image-preview">
                    <img src=image.url alt=i18n.text("link-image-preview") width="160"/>
                    <button type="button" class="link-button" on:click=move |_| chosen.set(None)>
                        {i18n.text("link-image-remove")}
                    </button>
                </div>
            })}
        </div>
    }
}

/// "State these in the description, as your SCTA page does not: …".
fn scta_hint(i18n: crate::i18n::I18n, items: &[SctaItem]) -> String {
    let separator = if i18n.locale() == Locale::Ja { "、" } else { ", " };
    let names: Vec<String> = items.iter().map(|item| i18n.tr(item.message_id())).collect();
    i18n.tr_args("link-description-hint", &[("items", names.join(separator).into())])
}

/// The fields shared by the create, quick and edit forms.
#[component]
fn LinkFieldsView(
    error: Signal<Option<AppError>>,
    #[prop(optional)] link: Option<LinkView>,
    /// Quick Payment Link: only name and price up front, the rest folded away.
    #[prop(optional)]
    quick: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let tz = crate::components::session::use_time_zone();
    // Instant feedback with the very parsers the server runs; the server still
    // decides. A local error shows until its field is fixed.
    let local = RwSignal::new(None::<AppError>);
    let server_error = error;
    let error = Signal::derive(move || local.get().or_else(|| server_error.get()));
    let report = move |field: &'static str, result: Result<(), (&'static str, FieldError)>| match result {
        Err((field, e)) => local.set(Some(AppError::invalid(field, e))),
        Ok(()) => {
            let same_field = local.with_untracked(|e| e.as_ref().and_then(AppError::field) == Some(field));
            let money_field = field == "amount" && local.with_untracked(|e| e.as_ref().and_then(AppError::field) == Some("currency"));
            if same_field || money_field {
                local.set(None);
            }
        }
    };
    let amount_ref = NodeRef::<leptos::html::Input>::new();
    let currency_ref = NodeRef::<leptos::html::Select>::new();
    // The price as the customer will see it ("= $10.50"), since it is typed
    // in the smallest unit.
    let preview = RwSignal::new(String::new());
    let check_money = move || {
        let amount = amount_ref.get_untracked().map(|i| i.value()).unwrap_or_default();
        if amount.trim().is_empty() {
            preview.set(String::new());
            return;
        }
        let currency = currency_ref.get_untracked().map(|s| s.value()).unwrap_or_default();
        let input = LinkInput { amount, currency, ..Default::default() };
        let money = input.money();
        preview.set(money.as_ref().map(|m| format!("= {}", m.format(i18n.locale()))).unwrap_or_default());
        report("amount", money.map(|_| ()));
    };
    let check_name = move |value: String| {
        report("name", crate::domain::ProductName::parse(&value).map(|_| ()).map_err(|e| ("name", e)));
    };
    let check_limit = move |value: String| {
        let input = LinkInput { name: "x".into(), usage_limit: value, ..Default::default() };
        report("usage_limit", input.details(Locale::En, tz.get_untracked(), 0).map(|_| ()));
    };
    let name = link.as_ref().map(|l| l.name.clone()).unwrap_or_default();
    let description = link.as_ref().map(|l| l.description.clone()).unwrap_or_default();
    let language = link.as_ref().map(|l| l.language).unwrap_or(i18n.locale());
    let usage_limit = link.as_ref().and_then(|l| l.usage_limit).map(|n| n.to_string()).unwrap_or_default();
    // In the merchant's time zone (the server reads it back in the same zone).
    let expires_ms = link.as_ref().and_then(|l| l.expires_at);
    let expires_at = move || expires_ms.map(|t| tz.get().local(t)).unwrap_or_default();
    let status = link.as_ref().map(|l| l.status).unwrap_or(LinkStatus::Active);
    let price = link.as_ref().map(|l| format_minor(l.amount, l.currency, i18n.locale()));
    let image = link.as_ref().and_then(|l| l.image_url.clone());

    let money = match price {
        // Amount and currency are fixed once the link exists.
        Some(price) => view! {
            <div class="field">
                <span class="label">{i18n.text("link-field-amount")}</span>
                <p class="readonly" data-testid="link-price">{price}</p>
                <p class="hint">{i18n.text("link-amount-fixed")}</p>
            </div>
        }
        .into_any(),
        None => view! {
            <div class="field-row">
                <div class="field grow">
                    <label for="link-amount">{i18n.text("link-field-amount")}</label>
                    <input
                        id="link-amount"
                        name="link[amount]"
                        inputmode="numeric"
                        aria-describedby="amount-hint amount-preview"
                        required
                        autocomplete="off"
                        node_ref=amount_ref
                        on:input=move |_| check_money()
                    />
                    <output id="amount-preview" for="link-amount link-currency" class="amount-preview" aria-live="polite">
                        {move || preview.get()}
                    </output>
                    <FieldMessage error field="amount"/>
                </div>
                <div class="field">
                    <label for="link-currency">{i18n.text("link-field-currency")}</label>
                    <select id="link-currency" name="link[currency]" node_ref=currency_ref on:change=move |_| check_money()>
                        {Currency::ALL.map(|c| view! { <option value=c.code()>{c.code()}</option> }).into_iter().collect_view()}
                    </select>
                    <FieldMessage error field="currency"/>
                </div>
            </div>
            <p class="hint" id="amount-hint">{i18n.text("link-amount-hint")}</p>
        }
        .into_any(),
    };
    // Fetched once the page is interactive: a resource of its own inside the
    // page's <Transition> could make hydration wait where the server did not.
    let scta = RwSignal::new(None::<Vec<SctaItem>>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(items) = scta_gaps().await {
                scta.set(Some(items));
            }
        });
    });
    let language_options = Locale::ALL.map(|l| view! { <option value=l.code() selected=l == language>{l.native_name()}</option> }).into_iter().collect_view();
    let details = view! {
        <ImagePicker initial=image/>
        <div class="field">
            <label for="link-description">{i18n.text("link-field-description")}</label>
            <textarea id="link-description" name="link[description]" rows="5" maxlength="5000">{description}</textarea>
            {move || scta.get().filter(|items| !items.is_empty()).map(|items| {
                view! { <p class="hint" id="description-hint" data-testid="scta-hint">{move || scta_hint(i18n, &items)}</p> }
            })}
            <FieldMessage error field="description"/>
        </div>
        <div class="field">
            <label for="link-language">{i18n.text("link-field-language")}</label>
            <select id="link-language" name="link[language]">{language_options}</select>
            <FieldMessage error field="language"/>
        </div>
    };
    let advanced = view! {
        <div class="field">
            <label for="link-usage-limit">{i18n.text("link-field-usage-limit")}</label>
            <input
                id="link-usage-limit"
                name="link[usage_limit]"
                type="number"
                min="1"
                step="1"
                value=usage_limit
                on:input=move |ev| check_limit(event_target_value(&ev))
            />
            <p class="hint">{i18n.text("link-usage-limit-hint")}</p>
            <FieldMessage error field="usage_limit"/>
        </div>
        <div class="field">
            <label for="link-expires-at">{i18n.text("link-field-expires-at")}</label>
            <input id="link-expires-at" name="link[expires_at]" type="datetime-local" value=expires_at aria-describedby="expires-at-hint"/>
            <p class="hint" id="expires-at-hint">{move || i18n.tr_zone("link-expires-at-hint", tz.get())}</p>
            <FieldMessage error field="expires_at"/>
        </div>
    };
    // Offered on every form (Active unless chosen otherwise): a merchant may
    // prepare a link before opening it for payments.
    let status_field = view! {
        <div class="field">
            <label for="link-status">{i18n.text("link-field-status")}</label>
            <select id="link-status" name="link[status]">
                <option value="active" selected=status == LinkStatus::Active>{i18n.text("link-status-active")}</option>
                <option value="inactive" selected=status == LinkStatus::Inactive>{i18n.text("link-status-inactive")}</option>
            </select>
            <FieldMessage error field="status"/>
        </div>
    };
    let (rest, status_up_front) = if quick {
        let rest = view! {
            <details class="advanced">
                <summary>{i18n.text("link-advanced")}</summary>
                {status_field}
                {details}
                {advanced}
            </details>
        };
        (rest.into_any(), None)
    } else {
        let rest = view! {
            {details}
            <fieldset>
                <legend>{i18n.text("link-advanced")}</legend>
                {advanced}
            </fieldset>
        };
        (rest.into_any(), Some(status_field))
    };
    view! {
        <FormMessage error/>
        <div class="field">
            <label for="link-name">{i18n.text("link-field-name")}</label>
            <input
                id="link-name"
                name="link[name]"
                required
                maxlength="100"
                value=name
                autocomplete="off"
                on:input=move |ev| check_name(event_target_value(&ev))
            />
            <FieldMessage error field="name"/>
        </div>
        {money}
        {status_up_front}
        {rest}
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

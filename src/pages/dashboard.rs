//! The merchant dashboard: layout with the Test/Live switch, overview, the
//! live-mode application and account settings.
use crate::components::form::{action_error, FieldMessage, FormMessage};
use crate::components::session::use_session;
use crate::domain::application::{ApplicationForm, ApplicationView, FIELDS};
use crate::domain::{AccountView, ApplicationStatus, Locale, Mode, Role};
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, Redirect, A};

mod settings;

pub use settings::{ApiKeysSettingsPage, SettingsPage, WebhooksSettingsPage};

#[cfg(feature = "ssr")]
use crate::server::{accounts, request::Request};

#[server(endpoint = "set_mode")]
pub async fn set_mode(mode: Mode) -> Result<AccountView, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    accounts::set_mode(request.db(), &account, mode).await?;
    Ok(AccountView { mode, ..account.view() })
}

/// The merchant's time zone (an IANA name from the offered list).
#[server(endpoint = "my_application")]
pub async fn my_application() -> Result<ApplicationView, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    accounts::application(request.db(), account.id).await
}

/// `intent` is "draft" (save) or "submit" (send for review).
#[server(endpoint = "save_application")]
pub async fn save_application(form: ApplicationForm, intent: String) -> Result<ApplicationView, AppError> {
    let submit = match intent.as_str() {
        "submit" => true,
        "draft" => false,
        _ => return Err(AppError::BadRequest),
    };
    let request = Request::current()?;
    let account = request.merchant().await?;
    accounts::save_application(request.db(), &account, &form, submit).await
}

#[component]
pub fn RequireRole(role: Role, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    // A memo, not a closure: the session resource notifies again with the same
    // role (e.g. when it resolves during SSR), and re-running the children
    // would create the page's resources twice, which hydration cannot match.
    let state = Memo::new(move |_| session.account.get().map(|r| r.ok().flatten().map(|a| a.role)));
    crate::components::session::provide_time_zone();
    let children = StoredValue::new(children);
    view! {
        <Transition fallback=|| ()>
            {move || match state.get() {
                None => ().into_any(),
                Some(Some(r)) if r == role => children.read_value()().into_any(),
                Some(Some(Role::Reviewer)) => view! { <Redirect path="/review"/> }.into_any(),
                Some(Some(_)) => view! { <Redirect path="/dashboard"/> }.into_any(),
                Some(None) => view! { <Redirect path="/signin"/> }.into_any(),
            }}
        </Transition>
    }
}

#[component]
pub fn DashboardLayout() -> impl IntoView {
    view! {
        <RequireRole role=Role::Merchant>
            <ModeBar/>
            <crate::pages::ConfirmEmailReminder/>
            <div class="dashboard">
                <DashboardNav/>
                <div class="dashboard-main">
                    <Outlet/>
                </div>
            </div>
        </RequireRole>
    }
}

#[component]
fn DashboardNav() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="dashboard-nav" aria-label=i18n.text("dashboard-nav-label")>
            <A href="/dashboard" exact=true>{i18n.text("dashboard-overview")}</A>
            <A href="/dashboard/links">{i18n.text("links-title")}</A>
            <A href="/dashboard/transactions">{i18n.text("transactions-nav")}</A>
            <A href="/dashboard/emails">{i18n.text("emails-nav")}</A>
            <A href="/dashboard/application">{i18n.text("application-nav")}</A>
            <A href="/dashboard/settings">{i18n.text("settings-nav")}</A>
            // Served by the server, not the dashboard's router.
            <a href="/docs/api" rel="external">{i18n.text("docs-api-nav")}</a>
        </nav>
    }
}

/// The current mode, always visible, and the switch between Test and Live.
#[component]
fn ModeBar() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let action = ServerAction::<SetMode>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            session.refresh();
        }
    });
    move || {
        session.get().map(|account| {
            let live = account.mode == Mode::Live;
            let target = if live { Mode::Test } else { Mode::Live };
            let can_switch = live || account.can_go_live();
            view! {
                <div class="mode-bar" class:live=live data-mode=account.mode.as_str()>
                    <span class="mode-badge">
                        {move || i18n.tr(if live { "mode-live" } else { "mode-test" })}
                    </span>
                    <span class="mode-text">
                        {move || i18n.tr(if live { "mode-live-text" } else { "mode-test-text" })}
                    </span>
                    <ActionForm action=action attr:class="inline">
                        <input type="hidden" name="mode" value=target.as_str()/>
                        <button
                            type="submit"
                            class="button small"
                            disabled=!can_switch
                            aria-describedby=(!can_switch).then_some("mode-hint")
                        >
                            {move || i18n.tr(if live { "mode-switch-to-test" } else { "mode-switch-to-live" })}
                        </button>
                    </ActionForm>
                    {(!can_switch).then(|| view! {
                        <span class="mode-hint" id="mode-hint">
                            {i18n.text("mode-live-locked")} " "
                            <A href="/dashboard/application">{i18n.text("application-nav")}</A>
                        </span>
                    })}
                    <FormMessage error/>
                </div>
            }
        })
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    view! {
        <Title text=i18n.text("dashboard-overview")/>
        <h1>{i18n.text("dashboard-overview")}</h1>
        {move || session.get().map(|account| {
            let status = account.application;
            view! {
                <p class="lede">{i18n.tr_args("dashboard-welcome", &[("business", account.business_name.clone().into())])}</p>
                <div class="card">
                    <h2>{i18n.text("application-title")}</h2>
                    <p>
                        <span class=format!("badge status-{}", status.as_str())>{move || i18n.tr(status_message(status))}</span>
                    </p>
                    <A href="/dashboard/application">{i18n.text("application-open")}</A>
                    {(status == ApplicationStatus::Approved).then(|| view! {
                        <p>
                            <a href=format!("/legal/{}", account.public_id) target="_blank" rel="noopener">
                                {i18n.text("legal-public-page")}
                            </a>
                        </p>
                    })}
                </div>
            }
        })}
    }
}

pub fn status_message(status: ApplicationStatus) -> &'static str {
    match status {
        ApplicationStatus::None => "application-status-none",
        ApplicationStatus::Draft => "application-status-draft",
        ApplicationStatus::Submitted => "application-status-submitted",
        ApplicationStatus::Approved => "application-status-approved",
        ApplicationStatus::Rejected => "application-status-rejected",
    }
}

#[component]
pub fn ApplicationPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let action = ServerAction::<SaveApplication>::new();
    let error = action_error(action);
    let application = Resource::new(move || action.version().get(), |_| my_application());
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            session.refresh();
        }
    });
    view! {
        <Title text=i18n.text("application-title")/>
        <h1>{i18n.text("application-title")}</h1>
        <p class="lede">{i18n.text("application-intro")}</p>
        <Transition fallback=|| ()>
            {move || application.get().map(|result| match result {
                Err(e) => view! { <p class="error" role="alert">{i18n.error(&e)}</p> }.into_any(),
                Ok(app) => view! { <ApplicationEditor app action error/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ApplicationEditor(app: ApplicationView, action: ServerAction<SaveApplication>, error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let editable = app.status.editable();
    let saved = move || matches!(action.value().get(), Some(Ok(_)));
    let status = app.status;
    let reason = app.reviewer_reason.clone().filter(|_| status == ApplicationStatus::Rejected);
    type Field = (&'static str, usize, bool);
    let (business, disclosure): (Vec<Field>, Vec<Field>) = FIELDS.iter().copied().partition(|(f, _, _)| !f.starts_with("scta_"));
    let field_view = move |(field, max, multiline): (&'static str, usize, bool), form: &ApplicationForm| {
        let value = form.get(field).to_owned();
        let id = format!("app-{field}");
        let name = format!("form[{field}]");
        let label_id = format!("application-field-{}", field.replace('_', "-"));
        let input = if multiline {
            view! { <textarea id=id.clone() name=name maxlength=max rows="3" disabled=!editable>{value}</textarea> }.into_any()
        } else {
            view! { <input id=id.clone() name=name maxlength=max value=value disabled=!editable/> }.into_any()
        };
        view! {
            <div class="field">
                <label for=id>{move || i18n.tr(&label_id)}</label>
                {input}
                <FieldMessage error field=field/>
            </div>
        }
    };
    let business_fields = business.into_iter().map(|f| field_view(f, &app.form)).collect_view();
    let disclosure_fields = disclosure.into_iter().map(|f| field_view(f, &app.form)).collect_view();
    view! {
        <p>
            <span class=format!("badge status-{}", status.as_str()) data-testid="application-status">
                {move || i18n.tr(status_message(status))}
            </span>
        </p>
        {reason.map(|reason| view! {
            <div class="error" role="note">
                <strong>{i18n.text("application-rejected-reason")}</strong>
                <p class="pre">{reason}</p>
            </div>
        })}
        {(status == ApplicationStatus::Approved).then(|| view! {
            <p class="success">{i18n.text("application-approved-text")}</p>
        })}
        <ActionForm action=action attr:class="stack application-form" attr:novalidate=true>
            <FormMessage error/>
            <fieldset>
                <legend>{i18n.text("application-section-business")}</legend>
                {business_fields}
            </fieldset>
            <fieldset>
                <legend>{i18n.text("application-section-scta")}</legend>
                <p class="hint">{i18n.text("application-scta-hint")}</p>
                {disclosure_fields}
            </fieldset>
            {editable.then(|| view! {
                <div class="actions">
                    <button type="submit" name="intent" value="draft" class="button">
                        {i18n.text("application-save-draft")}
                    </button>
                    <button type="submit" name="intent" value="submit" class="button primary">
                        {move || i18n.tr(if status == ApplicationStatus::Rejected { "application-resubmit" } else { "application-submit" })}
                    </button>
                </div>
            })}
            <Show when=saved>
                <p class="success" role="status">{i18n.text("application-saved")}</p>
            </Show>
        </ActionForm>
    }
}

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
#[server(endpoint = "set_time_zone")]
pub async fn set_time_zone(time_zone: String) -> Result<AccountView, AppError> {
    let zone =
        crate::domain::time_zone::TimeZone::parse(&time_zone).ok_or_else(|| AppError::invalid("time_zone", crate::domain::fields::FieldError::NotAllowed))?;
    let request = Request::current()?;
    let account = request.require_account().await?;
    accounts::set_time_zone(request.db(), account.id, zone).await?;
    Ok(AccountView { time_zone: zone, ..account.view() })
}

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

#[server(endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String, confirm_password: String) -> Result<(), AppError> {
    let request = Request::current()?;
    let account = request.require_account().await?;
    let client = request.client_ip();
    accounts::change_password(request.db(), &account, &client, &current_password, &new_password, &confirm_password).await?;
    // Other devices are signed out; this one stays.
    if let Some(token) = request.session_token() {
        crate::server::auth::delete_other_sessions(request.db(), account.id, &token).await?;
    }
    Ok(())
}

/// Sends a confirmation link to `new_email` (and a notice to the current
/// address); the address changes when the link is used.
#[server(endpoint = "request_email_change")]
pub async fn request_email_change(new_email: String, password: String) -> Result<String, AppError> {
    let request = Request::current()?;
    let account = request.require_account().await?;
    let client = request.client_ip();
    let secrets = &request.state.config.secrets;
    let sent_to = crate::server::account_email::request_change(request.db(), secrets, &account, &client, &password, &new_email).await?;
    Ok(sent_to.as_str().to_owned())
}

/// Guards its children: signed-in accounts of `role` only; others go to sign-in.
/// The merchant's KOMOJU connection as the settings page shows it: the key
/// itself is never sent back, only its last characters.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KomojuConnection {
    pub secret_key_hint: Option<String>,
    pub updated_at: Option<i64>,
    /// Paste into KOMOJU's webhook settings.
    pub webhook_url: String,
}

#[cfg(feature = "ssr")]
async fn komoju_connection(request: &Request, account: &crate::server::auth::Account) -> Result<KomojuConnection, AppError> {
    let settings = crate::server::komoju::Komoju::settings(request.db(), account.id).await?;
    Ok(KomojuConnection {
        secret_key_hint: settings.as_ref().map(|s| s.secret_key_hint.clone()),
        updated_at: settings.map(|s| s.updated_at),
        webhook_url: crate::server::webhooks::komoju_url(&request.state.config.public_url, &account.public_id),
    })
}

#[server(endpoint = "komoju_settings")]
pub async fn komoju_settings() -> Result<KomojuConnection, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    komoju_connection(&request, &account).await
}

/// Connects (or replaces) the merchant's KOMOJU account for live payments.
#[server(endpoint = "save_komoju_settings")]
pub async fn save_komoju_settings(secret_key: String, webhook_secret: String) -> Result<KomojuConnection, AppError> {
    use crate::server::komoju::{parse_secret_key, parse_webhook_secret};
    let request = Request::current()?;
    let account = request.merchant().await?;
    let secret_key = parse_secret_key(&secret_key).map_err(|e| AppError::invalid("secret_key", e))?;
    let webhook_secret = parse_webhook_secret(&webhook_secret).map_err(|e| AppError::invalid("webhook_secret", e))?;
    request.state.komoju.save_credentials(request.db(), account.id, &secret_key, &webhook_secret).await?;
    komoju_connection(&request, &account).await
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

#[component]
pub fn SettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<ChangePassword>::new();
    let error = action_error(action);
    let done = move || matches!(action.value().get(), Some(Ok(())));
    view! {
        <Title text=i18n.text("settings-nav")/>
        <h1>{i18n.text("settings-nav")}</h1>
        <SettingsTabs/>
        <section class="card">
            <h2>{i18n.text("settings-language")}</h2>
            <p class="hint">{i18n.text("settings-language-hint")}</p>
            <p>{move || Locale::ALL.iter().find(|l| **l == i18n.locale()).map(|l| l.native_name())}</p>
        </section>
        <TimeZoneSettings/>
        <super::notifications::NotificationSettingsCard/>
        <KomojuSettings/>
        <EmailAddressSettings/>
        <section class="card">
            <h2>{i18n.text("settings-password")}</h2>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <FormMessage error/>
                <label for="current-password">{i18n.text("settings-current-password")}</label>
                <input id="current-password" name="current_password" type="password" autocomplete="current-password" required/>
                <FieldMessage error field="current_password"/>
                <label for="new-password">{i18n.text("settings-new-password")}</label>
                <input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="10"/>
                <p class="hint">{i18n.text("signup-password-hint")}</p>
                <FieldMessage error field="new_password"/>
                <label for="confirm-password">{i18n.text("settings-confirm-password")}</label>
                <input id="confirm-password" name="confirm_password" type="password" autocomplete="new-password" required/>
                <FieldMessage error field="confirm_password"/>
                <button type="submit" class="button primary">{i18n.text("settings-change-password")}</button>
                <Show when=done>
                    <p class="success" role="status">{i18n.text("settings-password-changed")}</p>
                </Show>
            </ActionForm>
        </section>
    }
}

/// The account's address, and moving it to a new one (by a link emailed there).
#[component]
fn EmailAddressSettings() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let action = ServerAction::<RequestEmailChange>::new();
    let error = action_error(action);
    let current = move || session.get().map(|account| account.email).unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="email-address-title">
            <h2 id="email-address-title">{i18n.text("settings-email")}</h2>
            <p data-testid="account-email">{move || i18n.tr_args("settings-email-current", &[("email", current().into())])}</p>
            <p class="hint">{i18n.text("settings-email-hint")}</p>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <FormMessage error/>
                <label for="new-email">{i18n.text("settings-email-new")}</label>
                <input id="new-email" name="new_email" type="email" autocomplete="email" required/>
                <FieldMessage error field="new_email"/>
                <label for="email-password">{i18n.text("settings-current-password")}</label>
                <input id="email-password" name="password" type="password" autocomplete="current-password" required/>
                <FieldMessage error field="password"/>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>{i18n.text("settings-email-submit")}</button>
                {move || match action.value().get() {
                    Some(Ok(to)) => Some(view! {
                        <p class="success" role="status">{i18n.tr_args("settings-email-sent", &[("email", to.into())])}</p>
                    }),
                    _ => None,
                }}
            </ActionForm>
        </section>
    }
}

/// The dashboard's clock: every time shown, the transaction filters' dates
/// and the CSV export follow it.
#[component]
fn TimeZoneSettings() -> impl IntoView {
    use crate::domain::time_zone::TimeZone;
    let i18n = use_i18n();
    let session = use_session();
    let action = ServerAction::<SetTimeZone>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            session.refresh();
        }
    });
    let current = crate::components::session::use_time_zone();
    let options = move || {
        TimeZone::ALL
            .map(|zone| {
                let label = format!("{} ({})", i18n.tr(&zone.message_id()), zone.iana());
                view! { <option value=zone.iana() selected=zone == current.get()>{label}</option> }
            })
            .into_iter()
            .collect_view()
    };
    view! {
        <section class="card">
            <h2 id="time-zone-title">{i18n.text("settings-time-zone")}</h2>
            <p class="hint">{i18n.text("settings-time-zone-hint")}</p>
            <ActionForm action=action attr:class="inline-form">
                <FormMessage error/>
                <label for="time-zone" class="visually-hidden">{i18n.text("settings-time-zone")}</label>
                <select id="time-zone" name="time_zone">{options}</select>
                <FieldMessage error field="time_zone"/>
                <button type="submit" class="button">{i18n.text("settings-time-zone-save")}</button>
                <Show when=move || matches!(action.value().get(), Some(Ok(_)))>
                    <p class="success" role="status">{i18n.text("settings-time-zone-saved")}</p>
                </Show>
            </ActionForm>
        </section>
    }
}

/// Settings come in three pages, each its own WASM chunk (see `app.rs`): the
/// developer sections are not loaded with the password form.
#[component]
fn SettingsTabs() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="tabs" aria-label=i18n.text("settings-tabs-label")>
            <A href="/dashboard/settings" exact=true>{i18n.text("settings-general")}</A>
            <A href="/dashboard/settings/api-keys">{i18n.text("settings-api-keys")}</A>
            <A href="/dashboard/settings/webhooks">{i18n.text("settings-webhooks")}</A>
        </nav>
    }
}

/// A settings page other than General: its title, the tabs, its section.
#[component]
fn SettingsSubPage(title: &'static str, children: Children) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Title text=move || format!("{} | {}", i18n.tr(title), i18n.tr("settings-nav"))/>
        <h1>{i18n.text("settings-nav")}</h1>
        <SettingsTabs/>
        {children()}
    }
}

#[component]
pub fn ApiKeysSettingsPage() -> impl IntoView {
    view! { <SettingsSubPage title="settings-api-keys"><super::api_keys::ApiKeys/></SettingsSubPage> }
}

#[component]
pub fn WebhooksSettingsPage() -> impl IntoView {
    view! { <SettingsSubPage title="settings-webhooks"><super::webhooks::Webhooks/></SettingsSubPage> }
}

/// Live payments go through the merchant's own KOMOJU account.
#[component]
fn KomojuSettings() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SaveKomojuSettings>::new();
    let error = action_error(action);
    let current = Resource::new(move || action.version().get(), |_| komoju_settings());
    let saved = move || matches!(action.value().get(), Some(Ok(_)));
    view! {
        <section class="card" aria-labelledby="komoju-title">
            <h2 id="komoju-title">{i18n.text("settings-komoju")}</h2>
            <p class="hint">{i18n.text("settings-komoju-hint")}</p>
            <Suspense fallback=|| ()>
                {move || current.get().and_then(Result::ok).map(|c| {
                    let hint = c.secret_key_hint.clone();
                    view! {
                    <dl class="facts">
                        <dt>{i18n.text("settings-komoju-status")}</dt>
                        <dd data-testid="komoju-status">{move || match hint.clone() {
                            Some(hint) => i18n.tr_args("settings-komoju-connected", &[("hint", hint.into())]),
                            None => i18n.tr("settings-komoju-not-connected"),
                        }}</dd>
                        <dt>{i18n.text("settings-komoju-webhook-url")}</dt>
                        <dd><code data-testid="komoju-webhook-url">{c.webhook_url.clone()}</code></dd>
                    </dl>
                }})}
            </Suspense>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <FormMessage error/>
                <label for="komoju-secret-key">{i18n.text("settings-komoju-secret-key")}</label>
                <input id="komoju-secret-key" name="secret_key" type="password" autocomplete="off" spellcheck="false" required/>
                <FieldMessage error field="secret_key"/>
                <label for="komoju-webhook-secret">{i18n.text("settings-komoju-webhook-secret")}</label>
                <input id="komoju-webhook-secret" name="webhook_secret" type="password" autocomplete="off" spellcheck="false" required/>
                <FieldMessage error field="webhook_secret"/>
                <button type="submit" class="button primary">{i18n.text("settings-komoju-save")}</button>
                <Show when=saved>
                    <p class="success" role="status">{i18n.text("settings-komoju-saved")}</p>
                </Show>
            </ActionForm>
        </section>
    }
}

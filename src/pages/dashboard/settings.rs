//! Account settings: general (email address, password, time zone), API
//! keys, webhooks and the KOMOJU connection, with their server functions.

use super::*;

#[server(endpoint = "set_time_zone")]
pub async fn set_time_zone(time_zone: String) -> Result<AccountView, AppError> {
    let zone =
        crate::domain::time_zone::TimeZone::parse(&time_zone).ok_or_else(|| AppError::invalid("time_zone", crate::domain::fields::FieldError::NotAllowed))?;
    let request = Request::current()?;
    let account = request.require_account().await?;
    accounts::set_time_zone(request.db(), account.id, zone).await?;
    Ok(AccountView { time_zone: zone, ..account.view() })
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
        <crate::pages::notifications::NotificationSettingsCard/>
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
    view! { <SettingsSubPage title="settings-api-keys"><crate::pages::api_keys::ApiKeys/></SettingsSubPage> }
}

#[component]
pub fn WebhooksSettingsPage() -> impl IntoView {
    view! { <SettingsSubPage title="settings-webhooks"><crate::pages::webhooks::Webhooks/></SettingsSubPage> }
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

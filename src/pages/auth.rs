//! Sign up, sign in, sign out.
use crate::components::form::{action_error, FieldMessage, FormMessage};
use crate::domain::AccountView;
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[cfg(feature = "ssr")]
mod server {
    use crate::domain::fields::{self, Email, NewPassword};
    use crate::domain::Role;
    use crate::error::{AppError, AppResult};
    use crate::server::{auth, locale, request::Request, throttle};
    use http::header::SET_COOKIE;

    pub const BUSINESS_NAME_MAX: usize = 100;

    /// Starts a fresh session for `account_id`: a new token (ending any session
    /// the browser had), the language cookie from the account's setting.
    pub async fn start_session(request: &Request, account_id: i64) -> AppResult<()> {
        if let Some(old) = request.session_token() {
            auth::delete_session(request.db(), &old).await?;
        }
        let token = auth::create_session(request.db(), account_id).await?;
        request.set_header(SET_COOKIE, auth::session_cookie(&token, request.secure_cookies()));
        if let Some(account) = auth::account_by_id(request.db(), account_id).await? {
            request.set_header(SET_COOKIE, locale::set_cookie(account.locale));
        }
        Ok(())
    }

    pub async fn sign_up(business_name: &str, email: &str, password: &str) -> AppResult<i64> {
        let request = Request::current()?;
        let business_name = fields::text(business_name, BUSINESS_NAME_MAX, false)
            .map_err(|e| AppError::invalid("business_name", e))?;
        let email = Email::parse(email).map_err(|e| AppError::invalid("email", e))?;
        let password = NewPassword::parse(password).map_err(|e| AppError::invalid("password", e))?;
        // Counted before any hashing: each sign-up costs a 19 MiB Argon2 run.
        let limit = throttle::Limit { max: i64::from(request.state.config.sign_up_limit), window_ms: 60 * throttle::MINUTE_MS };
        throttle::take(request.db(), &format!("signup:{}", request.client_ip()), limit).await?;
        if auth::account_exists(request.db(), email.as_str()).await? {
            return Err(AppError::EmailTaken);
        }
        let hash = auth::hash_password(&password).await?;
        // The dashboard starts in the language the visitor is browsing in.
        let language = locale::from_headers(&request.parts.headers);
        let id = auth::create_account(request.db(), email.as_str(), &business_name, &hash, Role::Merchant, language).await?;
        start_session(&request, id).await?;
        Ok(id)
    }

    pub async fn sign_in(email: &str, password: &str) -> AppResult<i64> {
        let request = Request::current()?;
        // Any text is looked up as typed (normalized); a malformed email simply
        // matches no account, like an unknown one.
        let key = email.trim().to_lowercase();
        let ip = request.client_ip();
        // Both counted before verifying, each in one statement: parallel
        // guesses cannot all pass. Guesses back off per address and email, so
        // a stranger never locks the merchant out of their own address.
        let address = format!("signin-ip:{ip}");
        let guesses = format!("signin:{ip}|{key}");
        throttle::take(request.db(), &address, throttle::SIGN_IN_PER_ADDRESS).await?;
        throttle::back_off(request.db(), &guesses).await?;
        let credentials = auth::credentials_by_email(request.db(), &key).await?;
        let (id, hash) = match credentials {
            Some((id, hash)) => (Some(id), Some(hash)),
            None => (None, None),
        };
        let valid = auth::verify_password(hash, password).await?;
        match id.filter(|_| valid) {
            Some(id) => {
                throttle::clear(request.db(), &guesses).await?;
                throttle::give_back(request.db(), &address).await?;
                start_session(&request, id).await?;
                Ok(id)
            }
            None => Err(AppError::InvalidCredentials),
        }
    }

    pub async fn sign_out() -> AppResult<()> {
        let request = Request::current()?;
        if let Some(token) = request.session_token() {
            auth::delete_session(request.db(), &token).await?;
        }
        request.set_header(SET_COOKIE, auth::clear_session_cookie(request.secure_cookies()));
        Ok(())
    }
}

#[server(endpoint = "sign_up")]
pub async fn sign_up(business_name: String, email: String, password: String) -> Result<AccountView, AppError> {
    let id = server::sign_up(&business_name, &email, &password).await?;
    signed_in_view(id).await
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<AccountView, AppError> {
    let id = server::sign_in(&email, &password).await?;
    signed_in_view(id).await
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    server::sign_out().await?;
    crate::server::request::Request::current()?.redirect_plain_form("/signin");
    Ok(())
}

#[cfg(feature = "ssr")]
async fn signed_in_view(id: i64) -> Result<AccountView, AppError> {
    let request = crate::server::request::Request::current()?;
    let account = crate::server::auth::account_by_id(request.db(), id).await?.ok_or(AppError::Internal)?;
    request.redirect_plain_form(account_home(&account.view()));
    Ok(account.view())
}

/// After signing in or out, load the next page afresh: every piece of state
/// (and every cached resource) then belongs to the new session.
fn go_to(path: &str) {
    let _ = window().location().set_href(path);
}

/// Where an account lands after signing in.
pub fn account_home(account: &AccountView) -> &'static str {
    match account.role {
        crate::domain::Role::Reviewer => "/review",
        crate::domain::Role::Merchant => "/dashboard",
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SignIn>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(account)) = action.value().get() {
            go_to(account_home(&account));
        }
    });
    view! {
        <Title text=i18n.text("signin-title")/>
        <section class="card narrow">
            <h1>{i18n.text("signin-heading")}</h1>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <FormMessage error/>
                <label for="signin-email">{i18n.text("signin-email")}</label>
                <input id="signin-email" name="email" type="email" autocomplete="email" required/>
                <label for="signin-password">{i18n.text("signin-password")}</label>
                <input id="signin-password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    {i18n.text("signin-submit")}
                </button>
            </ActionForm>
            <p class="aside">
                {i18n.text("signin-no-account")} " "
                <A href="/signup">{i18n.text("signup-link")}</A>
            </p>
        </section>
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SignUp>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(account)) = action.value().get() {
            go_to(account_home(&account));
        }
    });
    view! {
        <Title text=i18n.text("signup-title")/>
        <section class="card narrow">
            <h1>{i18n.text("signup-heading")}</h1>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <FormMessage error/>
                <label for="signup-business">{i18n.text("signup-business-name")}</label>
                <input id="signup-business" name="business_name" autocomplete="organization" required maxlength="100"/>
                <FieldMessage error field="business_name"/>
                <label for="signup-email">{i18n.text("signin-email")}</label>
                <input id="signup-email" name="email" type="email" autocomplete="email" required/>
                <FieldMessage error field="email"/>
                <label for="signup-password">{i18n.text("signin-password")}</label>
                <input id="signup-password" name="password" type="password" autocomplete="new-password" required minlength="10"/>
                <p class="hint">{i18n.text("signup-password-hint")}</p>
                <FieldMessage error field="password"/>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    {i18n.text("signup-submit")}
                </button>
            </ActionForm>
            <p class="aside">
                {i18n.text("signup-have-account")} " "
                <A href="/signin">{i18n.text("nav-signin")}</A>
            </p>
        </section>
    }
}

/// Ends the session; works as a plain form without JavaScript.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            go_to("/signin");
        }
    });
    view! {
        <ActionForm action=action attr:class="inline">
            <button type="submit" class="link-button">{i18n.text("nav-signout")}</button>
        </ActionForm>
    }
}

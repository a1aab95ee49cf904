//! Sign up, sign in, sign out.
use crate::components::form::{action_error, FieldMessage, FormMessage};
use crate::domain::AccountView;
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// Answers with the address the confirmation went to, the same whether or
/// not it has an account; signs nobody in.
#[server(endpoint = "sign_up")]
pub async fn sign_up(business_name: String, email: String, password: String) -> Result<String, AppError> {
    let request = crate::server::request::Request::current()?;
    let email = crate::server::sign_in::sign_up(&request, &business_name, &email, &password).await?;
    request.redirect_plain_form("/signup?sent=1");
    Ok(email.as_str().to_owned())
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<AccountView, AppError> {
    let request = crate::server::request::Request::current()?;
    let id = crate::server::sign_in::sign_in(&request, &email, &password).await?;
    signed_in_view(id).await
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let request = crate::server::request::Request::current()?;
    crate::server::sign_in::sign_out(&request).await?;
    request.redirect_plain_form("/signin");
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
    let query = leptos_router::hooks::use_query_map();
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
            {move || query.read().get("reset").is_some().then(|| view! {
                <p class="notice" role="status">{i18n.text("reset-done")}</p>
            })}
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <FormMessage error/>
                <label for="signin-email">{i18n.text("signin-email")}</label>
                <input id="signin-email" name="email" type="email" autocomplete="email" required
                    value=move || query.read().get("email").unwrap_or_default()/>
                <label for="signin-password">{i18n.text("signin-password")}</label>
                <input id="signin-password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    {i18n.text("signin-submit")}
                </button>
            </ActionForm>
            <p class="aside"><A href="/forgot-password">{i18n.text("signin-forgot")}</A></p>
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
    let query = leptos_router::hooks::use_query_map();
    let action = ServerAction::<SignUp>::new();
    let error = action_error(action);
    let sent_to = move || match action.value().get() {
        Some(Ok(email)) => Some(Some(email)),
        _ => query.read().get("sent").map(|_| None),
    };
    view! {
        <Title text=i18n.text("signup-title")/>
        <section class="card narrow">
            {move || match sent_to() {
                Some(email) => view! { <SignUpSent email/> }.into_any(),
                None => view! {
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
                }.into_any(),
            }}
        </section>
    }
}

/// After signing up: the same words whether or not the address had an
/// account; the way on is signing in (the email also has a confirmation link).
#[component]
fn SignUpSent(email: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let signin = match &email {
        Some(email) => format!("/signin?email={}", query_escape(email)),
        None => "/signin".to_owned(),
    };
    let text = move || match &email {
        Some(email) => i18n.tr_args("signup-sent", &[("email", email.clone().into())]),
        None => i18n.tr("signup-sent-plain"),
    };
    view! {
        <h1>{i18n.text("signup-sent-title")}</h1>
        <p class="notice" role="status" data-testid="signup-sent">{text}</p>
        <p><a class="button primary" href=signin data-testid="signup-signin">{i18n.text("signup-sent-signin")}</a></p>
    }
}

/// A value for a URL's query: everything but unreserved characters and `@`
/// percent-encoded (UTF-8).
fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_escaped() {
        assert_eq!(super::query_escape("taro+shop@example.com"), "taro%2Bshop@example.com");
        assert_eq!(super::query_escape("a&b=c d"), "a%26b%3Dc%20d");
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

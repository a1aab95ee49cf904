//! The screens behind the links we email to account holders: confirming
//! the address, asking for and using a password-reset link, confirming or
//! cancelling an address change; and the dashboard's reminder to confirm.
//! Each works as a plain form too.

use crate::components::form::{action_error, FieldMessage, FormMessage};
use crate::components::session::use_session;
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[server(endpoint = "confirm_email")]
pub async fn confirm_email(token: String) -> Result<(), AppError> {
    let request = crate::server::request::Request::current()?;
    crate::server::account_email::confirm_email(request.db(), &token).await
}

#[server(endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    let request = crate::server::request::Request::current()?;
    crate::server::sign_in::resend_verification(&request).await?;
    request.redirect_plain_form("/dashboard?verification=sent");
    Ok(())
}

#[server(endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    let request = crate::server::request::Request::current()?;
    crate::server::sign_in::request_password_reset(&request, &email).await?;
    request.redirect_plain_form("/forgot-password?sent=1");
    Ok(())
}

#[server(endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    let request = crate::server::request::Request::current()?;
    crate::server::account_email::reset_password(request.db(), &token, &password).await?;
    request.redirect_plain_form("/signin?reset=1");
    Ok(())
}

/// The two links of an address change: `confirm` (sent to the new address)
/// or `cancel` (sent to the old one). A button, not the link itself, does
/// it: mail scanners open links, and must neither make nor undo a change.
#[server(endpoint = "answer_email_change")]
pub async fn answer_email_change(token: String, answer: String) -> Result<(), AppError> {
    use crate::server::account_email;
    let request = crate::server::request::Request::current()?;
    match answer.as_str() {
        "confirm" => account_email::confirm_change(request.db(), &token).await?,
        "cancel" => account_email::cancel_change(request.db(), &token).await?,
        _ => return Err(AppError::BadRequest),
    }
    request.redirect_plain_form(&format!("/email-change/{answer}?done=1"));
    Ok(())
}

/// What one of the two pages says and where it leads.
struct ChangeAnswer {
    /// `answer_email_change`'s `answer`.
    answer: &'static str,
    /// Message ids: title, intro, submit, done, next.
    texts: [&'static str; 5],
    button: &'static str,
    next: &'static str,
}

const CONFIRM: ChangeAnswer = ChangeAnswer {
    answer: "confirm",
    texts: [
        "change-email-confirm-title",
        "change-email-confirm-intro",
        "change-email-confirm-submit",
        "change-email-confirm-done",
        "change-email-confirm-next",
    ],
    button: "button primary",
    next: "/dashboard",
};

const CANCEL: ChangeAnswer = ChangeAnswer {
    answer: "cancel",
    texts: ["change-email-cancel-title", "change-email-cancel-intro", "change-email-cancel-submit", "change-email-cancel-done", "change-email-cancel-next"],
    button: "button danger",
    next: "/forgot-password",
};

/// `/email-change/confirm?token=…`: the link sent to the new address.
#[component]
pub fn EmailChangeConfirmPage() -> impl IntoView {
    view! { <EmailChangePage page=CONFIRM/> }
}

/// `/email-change/cancel?token=…`: the link sent to the old address.
#[component]
pub fn EmailChangeCancelPage() -> impl IntoView {
    view! { <EmailChangePage page=CANCEL/> }
}

#[component]
fn EmailChangePage(page: ChangeAnswer) -> impl IntoView {
    let ChangeAnswer { answer, texts: [title, intro, submit, done_text, next_text], button, next } = page;
    let i18n = use_i18n();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<AnswerEmailChange>::new();
    let error = action_error(action);
    let done = move || matches!(action.value().get(), Some(Ok(()))) || query.read().get("done").is_some();
    view! {
        <Title text=i18n.text(title)/>
        <section class="card narrow" data-testid="email-change">
            <h1>{i18n.text(title)}</h1>
            <Show
                when=done
                fallback=move || view! {
                    <p class="hint">{i18n.text(intro)}</p>
                    <ActionForm action=action attr:class="stack">
                        <FormMessage error/>
                        <input type="hidden" name="token" value=token/>
                        <input type="hidden" name="answer" value=answer/>
                        <button type="submit" class=button disabled=move || action.pending().get()>
                            {i18n.text(submit)}
                        </button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">{i18n.text(done_text)}</p>
                <p>
                    <a class="button primary" href=next>{i18n.text(next_text)}</a>
                </p>
            </Show>
        </section>
    }
}

/// `/verify-email?token=…`: the confirmation link of the sign-up email.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let result = Resource::new(token, confirm_email);
    view! {
        <Title text=i18n.text("verify-title")/>
        <section class="card narrow" data-testid="verify-email">
            <h1>{i18n.text("verify-title")}</h1>
            <Transition fallback=|| ()>
                {move || result.get().map(|result| match result {
                    Ok(()) => view! {
                        <p class="notice" role="status">{i18n.text("verify-done")}</p>
                        <p><a class="button primary" href="/dashboard">{i18n.text("verify-to-dashboard")}</a></p>
                    }.into_any(),
                    Err(e) => view! {
                        <p class="error" role="alert">{i18n.error(&e)}</p>
                        <p class="hint">{i18n.text("verify-failed-hint")}</p>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// `/forgot-password`: asks for a reset link. Says the same whether or not
/// the address has an account.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = action_error(action);
    let sent = move || matches!(action.value().get(), Some(Ok(()))) || query.read().get("sent").is_some();
    view! {
        <Title text=i18n.text("forgot-title")/>
        <section class="card narrow">
            <h1>{i18n.text("forgot-title")}</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p class="hint">{i18n.text("forgot-intro")}</p>
                    <ActionForm action=action attr:class="stack" attr:novalidate=true>
                        <FormMessage error/>
                        <label for="forgot-email">{i18n.text("signin-email")}</label>
                        <input id="forgot-email" name="email" type="email" autocomplete="email" required/>
                        <FieldMessage error field="email"/>
                        <button type="submit" class="button primary" disabled=move || action.pending().get()>
                            {i18n.text("forgot-submit")}
                        </button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">{i18n.text("forgot-sent")}</p>
            </Show>
            <p class="aside"><A href="/signin">{i18n.text("forgot-back")}</A></p>
        </section>
    }
}

/// `/reset-password?token=…`: the link of the reset email; a new password.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<ResetPassword>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            let _ = window().location().set_href("/signin?reset=1");
        }
    });
    view! {
        <Title text=i18n.text("reset-title")/>
        <section class="card narrow">
            <h1>{i18n.text("reset-title")}</h1>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <FormMessage error/>
                {move || matches!(error.get(), Some(AppError::TokenInvalid)).then(|| view! {
                    <p class="aside"><A href="/forgot-password">{i18n.text("reset-ask-again")}</A></p>
                })}
                <input type="hidden" name="token" value=token/>
                <label for="reset-password">{i18n.text("reset-new-password")}</label>
                <input id="reset-password" name="password" type="password" autocomplete="new-password" required minlength="10"/>
                <p class="hint">{i18n.text("signup-password-hint")}</p>
                <FieldMessage error field="password"/>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    {i18n.text("reset-submit")}
                </button>
            </ActionForm>
        </section>
    }
}

/// On every dashboard page until the address is confirmed.
#[component]
pub fn ConfirmEmailReminder() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let query = use_query_map();
    let action = ServerAction::<ResendVerification>::new();
    let error = action_error(action);
    let resent = move || matches!(action.value().get(), Some(Ok(()))) || query.read().get("verification").is_some();
    move || {
        session.get().filter(|account| !account.email_verified).map(|account| {
            view! {
                <div class="verify-reminder" role="status" data-testid="verify-reminder">
                    <span>{i18n.tr_args("verify-reminder", &[("email", account.email.clone().into())])}</span>
                    <Show
                        when=resent
                        fallback=move || view! {
                            <ActionForm action=action attr:class="inline">
                                <button type="submit" class="button small" disabled=move || action.pending().get()>
                                    {i18n.text("verify-resend")}
                                </button>
                            </ActionForm>
                        }
                    >
                        <strong>{i18n.text("verify-resent")}</strong>
                    </Show>
                    <FormMessage error/>
                </div>
            }
        })
    }
}

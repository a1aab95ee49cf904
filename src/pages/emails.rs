//! The merchant's emails: the delivery log of every email sent to their
//! customers in the current mode, and in test mode the mailbox itself (each
//! email as it was sent, text and HTML).

use crate::components::session::use_time_zone;
use crate::domain::email::{EmailLog, EmailLogEntry};
use crate::domain::Mode;
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;

#[server(endpoint = "email_log")]
pub async fn list_emails() -> Result<EmailLog, AppError> {
    use crate::server::request::Request;
    let request = Request::current()?;
    let merchant = request.merchant().await?;
    let entries = crate::server::email::log(request.db(), &merchant, 100).await?;
    Ok(EmailLog { mode: merchant.mode, smtp: request.state.config.email.smtp_url.is_some(), entries })
}

#[component]
pub fn EmailsPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = crate::components::session::use_session();
    let log = Resource::new(move || session.get().map(|a| a.mode), |_| list_emails());
    view! {
        <Title text=i18n.text("emails-title")/>
        <div class="page-head">
            <h1>{i18n.text("emails-title")}</h1>
        </div>
        <Transition fallback=|| ()>
            {move || log.get().map(|result| match result {
                Err(e) => view! { <p class="error" role="alert">{i18n.error(&e)}</p> }.into_any(),
                Ok(log) => view! { <EmailList log/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn EmailList(log: EmailLog) -> impl IntoView {
    let i18n = use_i18n();
    let hint = match (log.mode, log.smtp) {
        (Mode::Test, false) => "emails-hint-test-files",
        (Mode::Test, true) => "emails-hint-test-smtp",
        (Mode::Live, _) => "emails-hint-live",
    };
    let empty = log.entries.is_empty();
    view! {
        <p class="hint">{i18n.text(hint)}</p>
        {empty.then(|| view! { <p class="empty card">{i18n.text("emails-empty")}</p> })}
        <ul class="email-list" data-testid="emails">
            {log.entries.into_iter().map(|entry| view! { <EmailItem entry/> }).collect_view()}
        </ul>
    }
}

#[component]
fn EmailItem(entry: EmailLogEntry) -> impl IntoView {
    let i18n = use_i18n();
    let tz = use_time_zone();
    let created_at = entry.created_at;
    let state_class = format!("badge email-{}", entry.state);
    let state_label = format!("emails-state-{}", entry.state);
    let subject = entry.subject.clone().unwrap_or_else(|| "—".into());
    let recipient = entry.recipient.clone().unwrap_or_default();
    let payment_href = entry.payment_public_id.clone().map(|id| format!("/dashboard/transactions/{id}"));
    let payment_id = entry.payment_public_id.clone().unwrap_or_default();
    let error = entry.last_error.clone();
    let attempts = entry.attempts;
    // The HTML is served by `/mail/{id}` under its own policy (inline styles).
    let bodies = entry.text_body.clone().zip(entry.html_body.as_ref().map(|_| format!("/mail/{}", entry.id)));
    let frame_title = subject.clone();
    view! {
        <li class="card email" data-testid="email">
            <details>
                <summary>
                    <span class=state_class>{move || i18n.tr(&state_label)}</span>
                    " "<strong class="email-subject">{subject}</strong>
                    <span class="email-meta">
                        {i18n.tr(&entry.kind.message_id())}" · "{recipient}" · "{move || tz.get().display(created_at, false)}
                    </span>
                </summary>
                <dl class="email-facts">
                    {payment_href.map(|href| view! {
                        <dt>{i18n.text("emails-payment")}</dt>
                        <dd><a href=href><code>{payment_id}</code></a></dd>
                    })}
                    <dt>{i18n.text("emails-attempts")}</dt>
                    <dd>{attempts}</dd>
                    {error.map(|error| view! {
                        <dt>{i18n.text("emails-last-error")}</dt>
                        <dd class="error">{error}</dd>
                    })}
                </dl>
                {bodies.map(|(text, html)| view! {
                    <div class="email-bodies">
                        <iframe class="email-html" sandbox="" src=html title=frame_title></iframe>
                        <details class="email-text">
                            <summary>{i18n.text("emails-text-part")}</summary>
                            <pre>{text}</pre>
                        </details>
                    </div>
                })}
            </details>
        </li>
    }
}

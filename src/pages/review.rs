//! The review team's queue of live-mode applications.
use super::dashboard::RequireRole;
use crate::components::form::{action_error, FieldMessage, FormMessage};
use crate::domain::application::{ReviewItem, FIELDS};
use crate::domain::Role;
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;

#[cfg(feature = "ssr")]
use crate::server::{accounts, request::Request};

#[server(endpoint = "review_queue")]
pub async fn review_queue() -> Result<Vec<ReviewItem>, AppError> {
    let request = Request::current()?;
    let reviewer = request.reviewer().await?;
    accounts::review_queue(request.db(), &reviewer).await
}

/// `decision` is "approve" or "reject"; a rejection needs a reason.
#[server(endpoint = "review_application")]
pub async fn review_application(account_id: i64, decision: String, reason: String) -> Result<(), AppError> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::BadRequest),
    };
    let request = Request::current()?;
    let reviewer = request.reviewer().await?;
    accounts::review(request.db(), Some(reviewer.id), account_id, approve, &reason).await
}

#[component]
pub fn ReviewPage() -> impl IntoView {
    view! {
        <RequireRole role=Role::Reviewer>
            <ReviewQueue/>
        </RequireRole>
    }
}

#[component]
fn ReviewQueue() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<ReviewApplication>::new();
    let error = action_error(action);
    let queue = Resource::new(move || action.version().get(), |_| review_queue());
    view! {
        <Title text=i18n.text("review-title")/>
        <h1>{i18n.text("review-title")}</h1>
        <FormMessage error/>
        <Transition fallback=|| ()>
            {move || queue.get().map(|result| match result {
                Err(e) => view! { <p class="error" role="alert">{i18n.error(&e)}</p> }.into_any(),
                Ok(items) if items.is_empty() => view! { <p class="empty">{i18n.text("review-empty")}</p> }.into_any(),
                Ok(items) => items
                    .into_iter()
                    .map(|item| view! { <ReviewCard item action error/> })
                    .collect_view()
                    .into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ReviewCard(item: ReviewItem, action: ServerAction<ReviewApplication>, error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let form = item.application.form.clone();
    let rows = FIELDS
        .iter()
        .map(|(field, _, _)| {
            let label_id = format!("application-field-{}", field.replace('_', "-"));
            let value = form.get(field).to_owned();
            view! {
                <dt>{move || i18n.tr(&label_id)}</dt>
                <dd class="pre">{value}</dd>
            }
        })
        .collect_view();
    let reason_id = format!("reason-{}", item.account_id);
    view! {
        <article class="card review-card" data-email=item.email.clone()>
            <h2>{item.business_name.clone()}</h2>
            <p class="hint">{item.email.clone()}</p>
            <dl class="details">{rows}</dl>
            <ActionForm action=action attr:class="stack">
                <input type="hidden" name="account_id" value=item.account_id/>
                <label for=reason_id.clone()>{i18n.text("review-reason")}</label>
                <textarea id=reason_id name="reason" rows="2" maxlength="2000"></textarea>
                <FieldMessage error field="reason"/>
                <div class="actions">
                    <button type="submit" name="decision" value="approve" class="button primary">{i18n.text("review-approve")}</button>
                    <button type="submit" name="decision" value="reject" class="button danger">{i18n.text("review-reject")}</button>
                </div>
            </ActionForm>
        </article>
    }
}

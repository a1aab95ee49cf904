//! The merchant's email notifications: on Settings, which payment emails the
//! account gets (one per payment, a daily summary, none); on a link's page,
//! whether that link's payments are emailed (its state comes with
//! `links::link_overview`). Chargebacks and the live-mode
//! decision are always sent.

use crate::components::form::{action_error, FieldMessage, FormMessage};
use crate::domain::email::{NotificationSettings, PaymentEmails};
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[server(endpoint = "notification_settings")]
pub async fn get_notification_settings() -> Result<NotificationSettings, AppError> {
    use crate::server::{email::notify, request::Request};
    let request = Request::current()?;
    let merchant = request.merchant().await?;
    let payment_emails = notify::payment_emails(request.db(), merchant.id).await?;
    Ok(NotificationSettings { payment_emails, address: merchant.email.clone() })
}

#[server(endpoint = "set_payment_emails")]
pub async fn set_payment_emails(payment_emails: String) -> Result<(), AppError> {
    use crate::server::{email::notify, request::Request};
    let choice = PaymentEmails::parse(&payment_emails).ok_or_else(|| AppError::invalid("payment_emails", crate::domain::fields::FieldError::NotAllowed))?;
    let request = Request::current()?;
    let merchant = request.merchant().await?;
    notify::set_payment_emails(request.db(), merchant.id, choice).await
}

/// A link's payment emails, and what the account chose (a link's own choice
/// matters only with one email per payment); part of the link page's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkNotifications {
    pub on: bool,
    pub account: PaymentEmails,
}

#[server(endpoint = "set_link_notifications")]
pub async fn set_link_notifications(id: i64, on: bool) -> Result<(), AppError> {
    use crate::server::{email::notify, request::Request};
    let request = Request::current()?;
    let merchant = request.merchant().await?;
    notify::set_link_payment_emails(request.db(), merchant.id, id, Some(merchant.mode), on).await
}

/// Settings › General: where notifications go and which payment emails come.
#[component]
pub fn NotificationSettingsCard() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SetPaymentEmails>::new();
    let error = action_error(action);
    let settings = Resource::new(move || action.version().get(), |_| get_notification_settings());
    view! {
        <section class="card" aria-labelledby="notifications-title">
            <h2 id="notifications-title">{i18n.text("notify-settings-title")}</h2>
            <Transition fallback=|| ()>
                {move || settings.get().map(|result| match result {
                    Err(e) => view! { <p class="error" role="alert">{i18n.error(&e)}</p> }.into_any(),
                    Ok(settings) => {
                        let current = settings.payment_emails;
                        view! {
                            <p class="hint">{i18n.tr_args("notify-settings-hint", &[("address", settings.address.clone().into())])}</p>
                            <ActionForm action=action attr:class="stack">
                                <FormMessage error/>
                                <fieldset class="choices">
                                    <legend>{i18n.text("notify-payments-legend")}</legend>
                                    {PaymentEmails::ALL.into_iter().map(|choice| view! {
                                        <label class="choice">
                                            <input type="radio" name="payment_emails" value=choice.as_str() checked=choice == current/>
                                            " "{i18n.tr(&choice.message_id())}
                                        </label>
                                    }).collect_view()}
                                </fieldset>
                                <FieldMessage error field="payment_emails"/>
                                <p class="hint">{i18n.text("notify-always")}</p>
                                <button type="submit" class="button">{i18n.text("notify-save")}</button>
                                <Show when=move || matches!(action.value().get(), Some(Ok(_)))>
                                    <p class="success" role="status">{i18n.text("notify-saved")}</p>
                                </Show>
                            </ActionForm>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// A link's page: whether its payments are emailed to the merchant. Its state
/// comes with the page's one resource, which `action` refreshes.
#[component]
pub fn LinkNotificationsCard(link_id: i64, state: LinkNotifications, action: ServerAction<SetLinkNotifications>) -> impl IntoView {
    let i18n = use_i18n();
    let error = action_error(action);
    let status = match (state.account, state.on) {
        (PaymentEmails::Each, true) => "notify-link-on",
        (PaymentEmails::Each, false) => "notify-link-off",
        (PaymentEmails::Daily, _) => "notify-link-daily",
        (PaymentEmails::Off, _) => "notify-link-account-off",
    };
    view! {
        <section class="card link-notifications" aria-labelledby="link-notifications-title">
            <h2 id="link-notifications-title">{i18n.text("notify-link-title")}</h2>
            <p data-testid="link-notifications">{i18n.text(status)}</p>
            {(state.account == PaymentEmails::Each).then(|| view! {
                <ActionForm action=action attr:class="inline">
                    <input type="hidden" name="id" value=link_id/>
                    <input type="hidden" name="on" value=(!state.on).to_string()/>
                    <button type="submit" class="button">
                        {i18n.text(if state.on { "notify-link-turn-off" } else { "notify-link-turn-on" })}
                    </button>
                </ActionForm>
            })}
            <FormMessage error/>
        </section>
    }
}

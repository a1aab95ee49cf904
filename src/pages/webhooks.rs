//! Settings › Webhooks: the merchant's endpoints (per mode), their signing
//! secrets, delivery log, re-send and test event.
use crate::components::form::{action_error, FieldMessage, FormMessage};
use crate::domain::webhook::{DeliveryStatus, DeliveryView, EndpointSecret, EndpointView, EventType};
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{merchant_webhooks, request::Request};

#[server(endpoint = "webhook_endpoints")]
pub async fn webhook_endpoints() -> Result<Vec<EndpointView>, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    merchant_webhooks::list(request.db(), &account).await
}

#[server(endpoint = "create_webhook_endpoint")]
pub async fn create_webhook_endpoint(url: String, #[server(default)] events: Vec<String>) -> Result<EndpointSecret, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    let config = &request.state.config;
    merchant_webhooks::create(request.db(), &config.secrets, config.webhooks.allow_private, &account, &url, &events).await
}

#[server(endpoint = "update_webhook_endpoint")]
pub async fn update_webhook_endpoint(id: String, url: String, #[server(default)] events: Vec<String>) -> Result<EndpointView, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    let allow_private = request.state.config.webhooks.allow_private;
    merchant_webhooks::update(request.db(), allow_private, &account, &id, &url, &events).await
}

#[server(endpoint = "reveal_webhook_secret")]
pub async fn reveal_webhook_secret(id: String) -> Result<EndpointSecret, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    merchant_webhooks::reveal(request.db(), &request.state.config.secrets, &account, &id).await
}

#[server(endpoint = "rotate_webhook_secret")]
pub async fn rotate_webhook_secret(id: String) -> Result<EndpointSecret, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    merchant_webhooks::rotate(request.db(), &request.state.config.secrets, &account, &id).await
}

#[server(endpoint = "remove_webhook_endpoint")]
pub async fn remove_webhook_endpoint(id: String) -> Result<(), AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    merchant_webhooks::remove(request.db(), &account, &id).await
}

/// Turns an endpoint back on after Paylinks turned it off for failing.
#[server(endpoint = "turn_on_webhook_endpoint")]
pub async fn turn_on_webhook_endpoint(id: String) -> Result<EndpointView, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    merchant_webhooks::turn_back_on(request.db(), &account, &id).await
}

#[server(endpoint = "webhook_deliveries")]
pub async fn webhook_deliveries(id: String, before: Option<i64>) -> Result<Vec<DeliveryView>, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    merchant_webhooks::deliveries(request.db(), &account, &id, before).await
}

#[server(endpoint = "resend_webhook_delivery")]
pub async fn resend_webhook_delivery(id: String, delivery: i64) -> Result<(), AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    merchant_webhooks::resend(request.db(), &account, &id, delivery).await
}

#[server(endpoint = "send_test_webhook")]
pub async fn send_test_webhook(id: String) -> Result<String, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    merchant_webhooks::send_test(request.db(), &account, &id).await
}

#[component]
pub fn Webhooks() -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<CreateWebhookEndpoint>::new();
    let removed = ServerAction::<RemoveWebhookEndpoint>::new();
    let turned_on = ServerAction::<TurnOnWebhookEndpoint>::new();
    let error = action_error(create);
    let endpoints = Resource::new(move || (create.version().get(), removed.version().get(), turned_on.version().get()), |_| webhook_endpoints());
    let created = move || create.value().get().and_then(Result::ok);
    view! {
        <section class="card" aria-labelledby="webhooks-title" data-testid="webhooks">
            <h2 id="webhooks-title">{i18n.text("settings-webhooks")}</h2>
            <p class="hint">{i18n.text("settings-webhooks-hint")}" "<a href="/docs/api#webhooks" rel="external">{i18n.text("settings-webhooks-docs")}</a></p>
            <Show when=move || created().is_some()>
                <div class="notice" role="status">
                    <p>{i18n.text("settings-webhook-created")}</p>
                    <code data-testid="new-webhook-secret" class="secret">{move || created().map(|c| c.secret).unwrap_or_default()}</code>
                </div>
            </Show>
            <Show when=move || matches!(turned_on.value().get(), Some(Ok(_)))>
                <p class="success" role="status">{i18n.text("settings-webhook-turned-on")}</p>
            </Show>
            <ActionForm action=create attr:class="stack webhook-form" attr:novalidate=true>
                <FormMessage error/>
                <label for="webhook-url">{i18n.text("settings-webhook-url")}</label>
                <input id="webhook-url" name="url" type="url" inputmode="url" maxlength="2048" placeholder="https://shop.example.com/webhooks/paylinks" required/>
                <FieldMessage error field="url"/>
                <EventPicker field_id="webhook-events".to_owned() selected=vec![EventType::PaymentCaptured]/>
                <FieldMessage error field="events"/>
                <div><button type="submit" class="button primary">{i18n.text("settings-webhook-add")}</button></div>
            </ActionForm>
            <Suspense fallback=|| ()>
                {move || endpoints.get().and_then(Result::ok).map(|list| {
                    if list.is_empty() {
                        return view! { <p class="empty">{i18n.text("settings-webhooks-empty")}</p> }.into_any();
                    }
                    view! {
                        <ul class="webhook-endpoints" data-testid="webhook-endpoints">
                            {list.into_iter().map(|endpoint| view! { <EndpointItem endpoint removed turned_on/> }).collect_view()}
                        </ul>
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}

/// Check boxes for the subscribable events, sent as `events[]` (a plain
/// form post works too).
#[component]
fn EventPicker(field_id: String, selected: Vec<EventType>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <fieldset class="event-picker" id=field_id>
            <legend>{i18n.text("settings-webhook-events")}</legend>
            {EventType::SUBSCRIBABLE.into_iter().map(|t| view! {
                <label class="check">
                    <input type="checkbox" name="events[]" value=t.as_str() checked=selected.contains(&t)/>
                    <code>{t.as_str()}</code>
                </label>
            }).collect_view()}
        </fieldset>
    }
}

#[component]
fn EndpointItem(endpoint: EndpointView, removed: ServerAction<RemoveWebhookEndpoint>, turned_on: ServerAction<TurnOnWebhookEndpoint>) -> impl IntoView {
    let i18n = use_i18n();
    let tz = crate::components::session::use_time_zone();
    let id = endpoint.id.clone();
    let reveal = ServerAction::<RevealWebhookSecret>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let test = ServerAction::<SendTestWebhook>::new();
    let update = ServerAction::<UpdateWebhookEndpoint>::new();
    let update_error = action_error(update);
    let shown_secret = move || {
        let newest = [(reveal.version().get(), reveal.value().get()), (rotate.version().get(), rotate.value().get())]
            .into_iter()
            .max_by_key(|(version, _)| *version)
            .and_then(|(_, value)| value);
        newest.and_then(Result::ok).map(|s| s.secret)
    };
    let log_open = RwSignal::new(false);
    let current = RwSignal::new(endpoint.clone());
    // The endpoint as last saved or rotated: one source for URL, events and the rotation notice.
    Effect::new(move |_| {
        if let Some(Ok(saved)) = update.value().get() {
            current.set(saved);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(rotated)) = rotate.value().get() {
            current.set(rotated.endpoint);
        }
    });
    let rotating = move || current.with(|e| e.previous_secret_until);
    let id = StoredValue::new(id);
    let hidden_id = move || view! { <input type="hidden" name="id" value=id.get_value()/> };
    let turned_off_at = endpoint.turned_off_at;
    view! {
        <li class="webhook-endpoint" data-endpoint=id.get_value() data-turned-off=turned_off_at.is_some().to_string()>
            <div class="webhook-head">
                <code class="webhook-url">{move || current.with(|e| e.url.clone())}</code>
                <span class="hint">
                    {move || i18n.tr_args("settings-webhook-counts", &[
                        ("succeeded", endpoint.succeeded.into()),
                        ("pending", endpoint.pending.into()),
                        ("failed", endpoint.failed.into()),
                    ])}
                </span>
            </div>
            <p class="webhook-events">
                {move || current.with(|e| e.events.iter().map(|t| view! { <span class="badge">{t.as_str()}</span>" " }).collect_view())}
            </p>
            {turned_off_at.map(|at| view! {
                <div class="notice" role="status" data-testid="webhook-turned-off">
                    <p>{move || {
                        let zone = tz.get();
                        i18n.tr_args("settings-webhook-turned-off", &[("when", zone.display(at, false).into()), ("zone", i18n.tr(&zone.message_id()).into())])
                    }}</p>
                    <ActionForm action=turned_on>{hidden_id()}<button type="submit" class="button primary">{i18n.text("settings-webhook-turn-on")}</button></ActionForm>
                </div>
            })}
            <Show when=move || rotating().is_some()>
                <p class="hint">{move || {
                    let zone = tz.get();
                    let until = rotating().map(|t| zone.display(t, false)).unwrap_or_default();
                    i18n.tr_args("settings-webhook-rotating", &[("until", until.into()), ("zone", i18n.tr(&zone.message_id()).into())])
                }}</p>
            </Show>
            <Show when=move || shown_secret().is_some()>
                <code class="secret" data-testid="webhook-secret">{shown_secret}</code>
            </Show>
            <div class="webhook-actions">
                {turned_off_at.is_none().then(|| view! {
                    <ActionForm action=test>{hidden_id()}<button type="submit" class="button">{i18n.text("settings-webhook-test")}</button></ActionForm>
                })}
                <ActionForm action=reveal>{hidden_id()}<button type="submit" class="button">{i18n.text("settings-webhook-reveal")}</button></ActionForm>
                <ActionForm action=rotate>{hidden_id()}<button type="submit" class="button">{i18n.text("settings-webhook-rotate")}</button></ActionForm>
                <button type="button" class="button" aria-expanded=move || log_open.get().to_string() on:click=move |_| log_open.update(|o| *o = !*o)>
                    {i18n.text("settings-webhook-log")}
                </button>
                <ActionForm action=removed>{hidden_id()}<button type="submit" class="button danger">{i18n.text("settings-webhook-remove")}</button></ActionForm>
            </div>
            <Show when=move || matches!(test.value().get(), Some(Ok(_)))>
                <p class="success" role="status">{i18n.text("settings-webhook-test-sent")}</p>
            </Show>
            <details class="advanced">
                <summary>{i18n.text("settings-webhook-edit")}</summary>
                <ActionForm action=update attr:class="stack" attr:novalidate=true>
                    <FormMessage error=update_error/>
                    {hidden_id()}
                    <label for=format!("url-{}", id.get_value())>{i18n.text("settings-webhook-url")}</label>
                    <input id=format!("url-{}", id.get_value()) name="url" type="url" maxlength="2048" value=endpoint.url.clone() required/>
                    <FieldMessage error=update_error field="url"/>
                    <EventPicker field_id=format!("events-{}", id.get_value()) selected=endpoint.events.clone()/>
                    <FieldMessage error=update_error field="events"/>
                    <div><button type="submit" class="button primary">{i18n.text("settings-webhook-save")}</button></div>
                </ActionForm>
            </details>
            <Show when=move || log_open.get()>
                {move || {
                    let endpoint = id.get_value();
                    Suspend::new(async move { delivery_log(endpoint, test.version()).await })
                }}
            </Show>
        </li>
    }
}

/// The delivery log's code is fetched when a log is first opened (its own
/// WASM file): most visits to the settings never open one.
#[lazy]
async fn delivery_log(endpoint: String, refresh: RwSignal<usize>) -> AnyView {
    view! { <DeliveryLog endpoint refresh/> }.into_any()
}

#[component]
fn DeliveryLog(endpoint: String, refresh: RwSignal<usize>) -> impl IntoView {
    let i18n = use_i18n();
    let tz = crate::components::session::use_time_zone();
    let resend = ServerAction::<ResendWebhookDelivery>::new();
    let reload = RwSignal::new(0usize);
    // While open, the log follows deliveries that are still being sent.
    if let Ok(timer) = set_interval_with_handle(move || reload.update(|n| *n += 1), std::time::Duration::from_secs(2)) {
        on_cleanup(move || timer.clear());
    }
    let id = endpoint.clone();
    let deliveries = Resource::new(move || (refresh.get(), resend.version().get(), reload.get()), move |_| webhook_deliveries(id.clone(), None));
    let status_text = move |s: DeliveryStatus| {
        i18n.tr(match s {
            DeliveryStatus::Pending => "settings-webhook-status-pending",
            DeliveryStatus::Succeeded => "settings-webhook-status-succeeded",
            DeliveryStatus::Failed => "settings-webhook-status-failed",
        })
    };
    view! {
        <div class="webhook-log">
            <button type="button" class="button link" on:click=move |_| reload.update(|n| *n += 1)>{i18n.text("settings-webhook-refresh")}</button>
            <Transition fallback=|| ()>
                {move || deliveries.get().and_then(Result::ok).map(|rows| {
                    if rows.is_empty() {
                        return view! { <p class="empty">{i18n.text("settings-webhook-log-empty")}</p> }.into_any();
                    }
                    let endpoint = endpoint.clone();
                    view! {
                        <div class="table-wrap">
                            <table data-testid="webhook-deliveries">
                                <thead><tr>
                                    <th scope="col">{i18n.text("settings-webhook-event")}</th>
                                    <th scope="col">{i18n.text("settings-webhook-status")}</th>
                                    <th scope="col">{i18n.text("settings-webhook-answer")}</th>
                                    <th scope="col">{i18n.text("settings-webhook-attempts")}</th>
                                    <th scope="col">{move || i18n.tr_zone("settings-webhook-when", tz.get())}</th>
                                    <th scope="col"><span class="visually-hidden">{i18n.text("settings-webhook-resend")}</span></th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|d| {
                                        let answer = match (d.last_status_code, d.last_latency_ms, d.last_error.clone()) {
                                            (Some(code), Some(ms), _) => format!("HTTP {code} · {ms} ms"),
                                            (None, _, Some(error)) => error,
                                            _ => "—".to_owned(),
                                        };
                                        let endpoint = endpoint.clone();
                                        let when = d.last_attempt_at.unwrap_or(d.created_at);
                                        view! {
                                            <tr data-status=d.status.as_str()>
                                                <td><code>{d.event_type.as_str()}</code><br/><small class="hint">{d.event_id.clone()}</small></td>
                                                <td><span class=format!("badge delivery-{}", d.status.as_str())>{move || status_text(d.status)}</span></td>
                                                <td class="webhook-answer">{answer}</td>
                                                <td>{d.attempts}</td>
                                                <td>{move || tz.get().display(when, true)}</td>
                                                <td>
                                                    <ActionForm action=resend>
                                                        <input type="hidden" name="id" value=endpoint/>
                                                        <input type="hidden" name="delivery" value=d.id.to_string()/>
                                                        <button type="submit" class="button">{i18n.text("settings-webhook-resend")}</button>
                                                    </ActionForm>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </Transition>
        </div>
    }
}

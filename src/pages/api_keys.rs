//! Settings › API keys: secret keys for the REST API, per mode, shown once.
use crate::components::form::{action_error, FieldMessage, FormMessage};
use crate::domain::api_key::{ApiKeyView, NewApiKey};
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{api_keys, request::Request};

#[server(endpoint = "api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    api_keys::list(request.db(), &account).await
}

#[server(endpoint = "create_api_key")]
pub async fn create_api_key(name: String) -> Result<NewApiKey, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    api_keys::create(request.db(), &account, &name).await
}

#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: i64) -> Result<ApiKeyView, AppError> {
    let request = Request::current()?;
    let account = request.merchant().await?;
    api_keys::revoke(request.db(), &account, id).await
}

/// Japan time, to the minute (the same on server and client: no hydration mismatch).

#[component]
pub fn ApiKeys() -> impl IntoView {
    let i18n = use_i18n();
    let tz = crate::components::session::use_time_zone();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let error = action_error(create);
    let keys = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_api_keys());
    let created = move || create.value().get().and_then(Result::ok);
    view! {
        <section class="card" aria-labelledby="api-keys-title">
            <h2 id="api-keys-title">{i18n.text("settings-api-keys")}</h2>
            <p class="hint">{i18n.text("settings-api-keys-hint")}" "<a href="/docs/api" rel="external">{i18n.text("docs-api-title")}</a></p>
            <Show when=move || created().is_some()>
                <div class="notice" role="status">
                    <p>{i18n.text("settings-api-key-once")}</p>
                    <code data-testid="new-api-key" class="secret">{move || created().map(|k| k.secret).unwrap_or_default()}</code>
                </div>
            </Show>
            <ActionForm action=create attr:class="inline-form" attr:novalidate=true>
                <FormMessage error/>
                <label for="api-key-name">{i18n.text("settings-api-key-name")}</label>
                <input id="api-key-name" name="name" type="text" maxlength="60" required/>
                <FieldMessage error field="name"/>
                <button type="submit" class="button primary">{i18n.text("settings-api-key-create")}</button>
            </ActionForm>
            <Suspense fallback=|| ()>
                {move || keys.get().and_then(Result::ok).map(|keys| {
                    if keys.is_empty() {
                        return view! { <p class="empty">{i18n.text("settings-api-keys-empty")}</p> }.into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table data-testid="api-keys">
                                <thead><tr>
                                    <th scope="col">{i18n.text("settings-api-key-name")}</th>
                                    <th scope="col">{i18n.text("settings-api-key-prefix")}</th>
                                    <th scope="col">{i18n.text("settings-api-key-created")}</th>
                                    <th scope="col">{i18n.text("settings-api-key-last-used")}</th>
                                    <th scope="col"><span class="visually-hidden">{i18n.text("settings-api-key-revoke")}</span></th>
                                </tr></thead>
                                <tbody>
                                    {keys.into_iter().map(|key| {
                                        let id = key.id;
                                        let revoked = key.revoked;
                                        let (created_at, last_used_at) = (key.created_at, key.last_used_at);
                                        view! {
                                            <tr>
                                                <td>{key.name.clone()}</td>
                                                <td><code>{format!("{}…", key.prefix)}</code></td>
                                                <td>{move || tz.get().display(created_at, false)}</td>
                                                <td>{move || last_used_at.map(|t| tz.get().display(t, false)).unwrap_or_else(|| i18n.tr("settings-api-key-never"))}</td>
                                                <td>{move || if revoked {
                                                    view! { <span class="badge">{i18n.tr("settings-api-key-revoked")}</span> }.into_any()
                                                } else {
                                                    view! {
                                                        <ActionForm action=revoke>
                                                            <input type="hidden" name="id" value=id.to_string()/>
                                                            <button type="submit" class="button danger">{i18n.tr("settings-api-key-revoke")}</button>
                                                        </ActionForm>
                                                    }.into_any()
                                                }}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}

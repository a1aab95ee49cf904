//! A merchant's public 特定商取引法 (Specified Commercial Transactions Act)
//! page: the disclosure from their approved live-mode application.
use crate::domain::application::Disclosure;
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[server(endpoint = "scta_disclosure")]
pub async fn scta_disclosure(public_id: String) -> Result<Disclosure, AppError> {
    let request = crate::server::request::Request::current()?;
    crate::server::accounts::scta_disclosure(request.db(), &public_id).await
}

#[component]
pub fn LegalPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let disclosure = Resource::new(move || params.read().get("public_id").unwrap_or_default(), scta_disclosure);
    view! {
        <Title text=i18n.text("legal-title")/>
        <Suspense fallback=|| ()>
            {move || disclosure.get().map(|result| match result {
                Ok(d) => view! { <DisclosureView d/> }.into_any(),
                Err(_) => view! { <crate::pages::NotFound/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn DisclosureView(d: Disclosure) -> impl IntoView {
    let i18n = use_i18n();
    let rows = d
        .items
        .into_iter()
        .map(|(field, value)| {
            let label = format!("application-field-{}", field.replace('_', "-"));
            view! {
                <dt>{move || i18n.tr(&label)}</dt>
                <dd class="pre">{value}</dd>
            }
        })
        .collect_view();
    view! {
        <article class="card legal">
            <h1>{i18n.text("legal-title")}</h1>
            <p class="lede">{d.business_name}</p>
            <dl class="details">{rows}</dl>
        </article>
    }
}

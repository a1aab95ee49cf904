use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let i18n = use_i18n();
    view! {
        <Title text=move || i18n.tr("not-found-title")/>
        <section class="card narrow">
            <h1>{move || i18n.tr("not-found-title")}</h1>
            <p>{move || i18n.tr("not-found-text")}</p>
        </section>
    }
}

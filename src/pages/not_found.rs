use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;

/// A dashboard resource that could not be loaded: its message, and during
/// server rendering the error's own status (404 for someone else's id).
#[component]
pub fn LoadError(error: crate::error::AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(status)) = (use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(error.status())) {
        response.set_status(status);
    }
    let i18n = use_i18n();
    view! { <h1>{i18n.text("not-found-title")}</h1><p class="error">{i18n.error(&error)}</p> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let i18n = use_i18n();
    view! {
        <Title text=i18n.text("not-found-title")/>
        <section class="card narrow">
            <h1>{i18n.text("not-found-title")}</h1>
            <p>{i18n.text("not-found-text")}</p>
        </section>
    }
}

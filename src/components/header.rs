use super::LanguageSwitcher;
use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn SiteHeader() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"P"</span>
                {move || i18n.tr("app-name")}
            </A>
            <nav class="site-nav">
                <A href="/signin">{move || i18n.tr("nav-signin")}</A>
            </nav>
            <LanguageSwitcher/>
        </header>
    }
}

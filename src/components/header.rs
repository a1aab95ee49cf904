use super::session::use_session;
use super::LanguageSwitcher;
use crate::domain::Role;
use crate::i18n::use_i18n;
use crate::pages::auth::SignOutButton;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn SiteHeader() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let nav = move || match session.get() {
        Some(account) => {
            let home = if account.role == Role::Reviewer { "/review" } else { "/dashboard" };
            view! {
                <A href=home>{move || i18n.tr(if account.role == Role::Reviewer { "review-title" } else { "nav-dashboard" })}</A>
                <span class="account-name">{account.business_name.clone()}</span>
                <SignOutButton/>
            }
            .into_any()
        }
        None => view! {
            <A href="/signin">{i18n.text("nav-signin")}</A>
            <A href="/signup">{i18n.text("nav-signup")}</A>
        }
        .into_any(),
    };
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"P"</span>
                {i18n.text("app-name")}
            </A>
            <nav class="site-nav">
                <Transition fallback=|| ()>{nav}</Transition>
            </nav>
            <LanguageSwitcher/>
        </header>
    }
}

use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::Title;

/// Merchant sign-in.
#[component]
pub fn SignInPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Title text=move || i18n.tr("signin-title")/>
        <section class="card narrow">
            <h1>{move || i18n.tr("signin-heading")}</h1>
            <form class="stack" method="post">
                <label for="signin-email">{move || i18n.tr("signin-email")}</label>
                <input id="signin-email" name="email" type="email" autocomplete="email" required/>
                <label for="signin-password">{move || i18n.tr("signin-password")}</label>
                <input id="signin-password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit" class="button primary">{move || i18n.tr("signin-submit")}</button>
            </form>
        </section>
    }
}

use crate::i18n::use_i18n;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::A;

/// The public landing page.
#[component]
pub fn HomePage() -> impl IntoView {
    let i18n = use_i18n();
    let features = [
        ("home-feature-links", "home-feature-links-text"),
        ("home-feature-checkout", "home-feature-checkout-text"),
        ("home-feature-sales", "home-feature-sales-text"),
    ];
    view! {
        <Title text=i18n.text("home-title")/>
        <Meta name="description" content=i18n.text("home-tagline")/>
        <section class="hero">
            <h1>{i18n.text("home-title")}</h1>
            <p class="lede">{i18n.text("home-tagline")}</p>
            <A href="/signin" attr:class="button primary">{i18n.text("home-cta-signin")}</A>
        </section>
        <ul class="features">
            {features
                .map(|(title, text)| {
                    view! {
                        <li>
                            <h2>{move || i18n.tr(title)}</h2>
                            <p>{move || i18n.tr(text)}</p>
                        </li>
                    }
                })
                .into_iter()
                .collect_view()}
        </ul>
    }
}

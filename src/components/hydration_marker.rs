use leptos::prelude::*;

/// Marks `<body data-hydrated="true">` once the WASM app is live. Effects never
/// run during server rendering, so the attribute proves hydration happened;
/// browser tests wait for it before they click.
#[component]
pub fn HydrationMarker() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

use crate::components::{session::provide_session, HydrationMarker, SiteHeader};
use crate::i18n::provide_i18n;
use crate::pages::{
    ApplicationPage, DashboardLayout, HomePage, LegalPage, LinkDetailPage, LinksPage, PaymentDetailPage, TransactionsPage, NewLinkPage, NotFound, QuickLinkPage, OverviewPage, ReviewPage, SettingsPage, SignInPage, SignUpPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app; rendered on the server only.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::MetaTags;
    let lang = use_context::<http::request::Parts>()
        .map(|parts| crate::server::locale::from_headers(&parts.headers))
        .unwrap_or_default();
    // Inline scripts run only with this response's nonce.
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(policy) = http::HeaderValue::from_str(&crate::server::http::dashboard_csp(&nonce)) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href=crate::server::assets::url("/favicon.svg") type="image/svg+xml"/>
                <link rel="stylesheet" href=crate::server::assets::url("/pkg/paylinks.css")/>
                <Hydrate pkg=options.site_pkg_dir.to_string()/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Loads the dashboard's WASM and hydrates the page once the browser is idle
/// after its first paint: the server-rendered page is readable (and its
/// links work) before a byte of WASM arrives. URLs carry content hashes, so
/// the bundle is cached for a year and a new build is fetched at once.
#[cfg(feature = "ssr")]
#[component]
fn Hydrate(pkg: String) -> impl IntoView {
    use crate::server::assets::url;
    let js = url(&format!("/{pkg}/paylinks.js"));
    let wasm = url(&format!("/{pkg}/paylinks.wasm"));
    let script = format!(
        "const start=()=>import({js:?}).then(m=>m.default({{module_or_path:{wasm:?}}}).then(()=>m.hydrate()));\
         const idle=window.requestIdleCallback||(f=>setTimeout(f,1));\
         if(document.readyState==='complete')idle(start,{{timeout:1500}});\
         else addEventListener('load',()=>idle(start,{{timeout:1500}}),{{once:true}});"
    );
    view! { <script type="module" nonce=leptos::nonce::use_nonce() inner_html=script></script> }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_i18n();
    provide_session();
    view! {
        <Title formatter=|page: String| if page.is_empty() { "Paylinks".to_owned() } else { format!("{page} | Paylinks") }/>
        <Router>
            <SiteHeader/>
            <main id="main">
                <Routes fallback=NotFound>
                    <Route path=path!("") view=HomePage/>
                    <Route path=path!("/signin") view=SignInPage/>
                    <Route path=path!("/signup") view=SignUpPage/>
                    // Signed-in pages wait for the session before sending headers,
                    // so a visitor without one gets a real redirect.
                    <ParentRoute path=path!("/dashboard") view=DashboardLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=OverviewPage/>
                        <Route path=path!("application") view=ApplicationPage/>
                        <Route path=path!("settings") view=SettingsPage/>
                        <Route path=path!("links") view=LinksPage/>
                        <Route path=path!("links/new") view=NewLinkPage/>
                        <Route path=path!("links/quick") view=QuickLinkPage/>
                        <Route path=path!("links/:id") view=LinkDetailPage/>
                        <Route path=path!("transactions") view=TransactionsPage/>
                        <Route path=path!("transactions/:id") view=PaymentDetailPage/>
                    </ParentRoute>
                    <Route path=path!("/review") view=ReviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/legal/:public_id") view=LegalPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
        <HydrationMarker/>
    }
}

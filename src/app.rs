use crate::components::{session::provide_session, HydrationMarker, SiteHeader};
use crate::i18n::provide_i18n;
use crate::pages::{
    ApiKeysSettingsPage, ApplicationPage, DashboardLayout, EditLinkPage, EmailChangeCancelPage, EmailChangeConfirmPage, EmailsPage, ForgotPasswordPage,
    HomePage, LegalPage, LinkDetailPage, LinksPage, NewLinkPage, NotFound, OverviewPage, PaymentDetailPage, QuickLinkPage, ResetPasswordPage, ReviewPage,
    SettingsPage, SignInPage, SignUpPage, TransactionsPage, VerifyEmailPage, WebhooksSettingsPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
};

/// Each page below is its own WASM chunk (`cargo leptos build --split`):
/// the first load of the dashboard fetches the shell and the page shown,
/// and other pages' code arrives when they are opened. `$page` renders it.
/// A page hydrates after the rest of the document (once its code is there),
/// so the hydration marker goes with each page.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> <HydrationMarker/> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    SignInRoute => SignInPage,
    SignUpRoute => SignUpPage,
    ForgotPasswordRoute => ForgotPasswordPage,
    ResetPasswordRoute => ResetPasswordPage,
    VerifyEmailRoute => VerifyEmailPage,
    EmailChangeConfirmRoute => EmailChangeConfirmPage,
    EmailChangeCancelRoute => EmailChangeCancelPage,
    OverviewRoute => OverviewPage,
    ApplicationRoute => ApplicationPage,
    SettingsRoute => SettingsPage,
    ApiKeysSettingsRoute => ApiKeysSettingsPage,
    WebhooksSettingsRoute => WebhooksSettingsPage,
    LinksRoute => LinksPage,
    NewLinkRoute => NewLinkPage,
    QuickLinkRoute => QuickLinkPage,
    LinkDetailRoute => LinkDetailPage,
    EditLinkRoute => EditLinkPage,
    TransactionsRoute => TransactionsPage,
    PaymentDetailRoute => PaymentDetailPage,
    EmailsRoute => EmailsPage,
    ReviewRoute => ReviewPage,
    LegalRoute => LegalPage,
}

/// The HTML document around the app; rendered on the server only. (The
/// bundle's URLs come from the loaded site, see [`crate::server::assets`].)
#[cfg(feature = "ssr")]
pub fn shell(_options: LeptosOptions) -> impl IntoView {
    use leptos_meta::MetaTags;
    let lang = use_context::<http::request::Parts>().map(|parts| crate::server::locale::from_headers(&parts.headers)).unwrap_or_default();
    // Inline scripts run only with this response's nonce.
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(policy) = http::HeaderValue::from_str(&crate::web::http::dashboard_csp(&nonce)) {
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
                <Hydrate lang/>
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
fn Hydrate(lang: crate::domain::Locale) -> impl IntoView {
    use crate::server::assets::bundle_url;
    let js = bundle_url("paylinks.js");
    let wasm = bundle_url("paylinks.wasm");
    // The message catalog of the page's language comes beside the WASM (it
    // carries none): fetched in parallel, cached under its version.
    let catalog = crate::i18n::catalog_url(lang);
    let script = format!(
        "const text=fetch({catalog:?}).then(r=>{{if(!r.ok)throw new Error(r.status);return r.text()}});\
         const start=()=>import({js:?}).then(m=>Promise.all([text,m.default({{module_or_path:{wasm:?}}})]).then(([t])=>m.hydrate(t)));\
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
                <Routes fallback=|| view! { <NotFound/> <HydrationMarker/> }>
                    <Route path=path!("") view=|| view! { <HomePage/> <HydrationMarker/> }/>
                    <Route path=path!("/signin") view={Lazy::<SignInRoute>::new()}/>
                    <Route path=path!("/signup") view={Lazy::<SignUpRoute>::new()}/>
                    <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()}/>
                    <Route path=path!("/reset-password") view={Lazy::<ResetPasswordRoute>::new()}/>
                    <Route path=path!("/email-change/confirm") view={Lazy::<EmailChangeConfirmRoute>::new()}/>
                    <Route path=path!("/email-change/cancel") view={Lazy::<EmailChangeCancelRoute>::new()}/>
                    // Answers with the outcome in the HTML (JavaScript off too).
                    <Route path=path!("/verify-email") view={Lazy::<VerifyEmailRoute>::new()} ssr=SsrMode::Async/>
                    // Signed-in pages wait for the session before sending headers,
                    // so a visitor without one gets a real redirect.
                    <ParentRoute path=path!("/dashboard") view=DashboardLayout ssr=SsrMode::Async>
                        <Route path=path!("") view={Lazy::<OverviewRoute>::new()}/>
                        <Route path=path!("application") view={Lazy::<ApplicationRoute>::new()}/>
                        <Route path=path!("settings") view={Lazy::<SettingsRoute>::new()}/>
                        <Route path=path!("settings/api-keys") view={Lazy::<ApiKeysSettingsRoute>::new()}/>
                        <Route path=path!("settings/webhooks") view={Lazy::<WebhooksSettingsRoute>::new()}/>
                        <Route path=path!("links") view={Lazy::<LinksRoute>::new()}/>
                        <Route path=path!("links/new") view={Lazy::<NewLinkRoute>::new()}/>
                        <Route path=path!("links/quick") view={Lazy::<QuickLinkRoute>::new()}/>
                        <Route path=path!("links/:id") view={Lazy::<LinkDetailRoute>::new()}/>
                        <Route path=path!("links/:id/edit") view={Lazy::<EditLinkRoute>::new()}/>
                        <Route path=path!("transactions") view={Lazy::<TransactionsRoute>::new()}/>
                        <Route path=path!("transactions/:id") view={Lazy::<PaymentDetailRoute>::new()}/>
                        <Route path=path!("emails") view={Lazy::<EmailsRoute>::new()}/>
                    </ParentRoute>
                    <Route path=path!("/review") view={Lazy::<ReviewRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/legal/:public_id") view={Lazy::<LegalRoute>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

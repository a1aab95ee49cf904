//! Fluent message catalogs (`locales/{ja,en,ko}/*.ftl`) and their use from views.
//!
//! The catalogs are compiled into the server by `build.rs`. The browser's
//! WASM carries none: the page loader fetches the catalog of the language
//! the page was rendered in (`/i18n/{lang}.ftl`, cached for a year under its
//! version) and hands it to `hydrate`; another language is fetched when the
//! merchant switches to it. Both sides format the very same strings.

use crate::domain::Locale;
use fluent_bundle::{concurrent::FluentBundle, FluentArgs, FluentResource, FluentValue};

include!(concat!(env!("OUT_DIR"), "/catalogs.rs"));

type Bundle = FluentBundle<FluentResource>;

fn new_bundle(locale: Locale) -> Bundle {
    let langid = locale.code().parse().expect("locale codes are valid language ids");
    let mut bundle = Bundle::new_concurrent(vec![langid]);
    // Isolation marks (U+2068/U+2069) around placeables would end up in copied
    // amounts and URLs; our placeables are never right-to-left text.
    bundle.set_use_isolating(false);
    bundle
}

fn add_source(bundle: &mut Bundle, source: String) -> Result<(), String> {
    let resource = FluentResource::try_new(source).map_err(|(_, errors)| format!("{errors:?}"))?;
    bundle.add_resource(resource).map_err(|errors| format!("{errors:?}"))
}

fn index(locale: Locale) -> usize {
    Locale::ALL.iter().position(|l| *l == locale).expect("every locale is in Locale::ALL")
}

/// Where the browser gets the catalog of `locale`.
pub fn catalog_url(locale: Locale) -> String {
    format!("/i18n/{}.ftl?v={CATALOG_VERSION}", locale.code())
}

#[cfg(feature = "ssr")]
mod store {
    use super::*;
    use std::sync::OnceLock;

    fn bundles() -> &'static [Bundle; 3] {
        static BUNDLES: OnceLock<[Bundle; 3]> = OnceLock::new();
        BUNDLES.get_or_init(|| {
            Locale::ALL.map(|locale| {
                let mut bundle = new_bundle(locale);
                // The checkout's messages too: only the server renders them.
                for (_, file, source) in CATALOGS.iter().chain(SERVER_CATALOGS).filter(|(lang, _, _)| *lang == locale.code()) {
                    add_source(&mut bundle, (*source).to_owned()).unwrap_or_else(|e| panic!("locales/{locale}/{file}: {e}"));
                }
                bundle
            })
        })
    }

    pub(super) fn bundle(locale: Locale) -> Option<&'static Bundle> {
        Some(&bundles()[index(locale)])
    }

    /// The catalog the browser formats with in `locale` (what
    /// [`catalog_url`] serves): every catalog but the checkout's.
    pub fn browser_catalog(locale: Locale) -> &'static str {
        static SOURCES: OnceLock<[String; 3]> = OnceLock::new();
        let sources = SOURCES.get_or_init(|| {
            Locale::ALL.map(|locale| CATALOGS.iter().filter(|(lang, _, _)| *lang == locale.code()).map(|(_, _, source)| *source).collect::<Vec<_>>().join("\n"))
        });
        &sources[index(locale)]
    }
}

#[cfg(not(feature = "ssr"))]
mod store {
    use super::*;
    use std::sync::OnceLock;

    static INSTALLED: [OnceLock<Bundle>; 3] = [const { OnceLock::new() }; 3];

    pub(super) fn bundle(locale: Locale) -> Option<&'static Bundle> {
        INSTALLED[index(locale)].get()
    }

    /// Makes `source` (as fetched from [`catalog_url`]) the catalog of `locale`.
    pub fn install(locale: Locale, source: String) -> Result<(), String> {
        let mut bundle = new_bundle(locale);
        add_source(&mut bundle, source)?;
        let _ = INSTALLED[index(locale)].set(bundle);
        Ok(())
    }
}

#[cfg(feature = "ssr")]
pub use store::browser_catalog;
#[cfg(not(feature = "ssr"))]
pub use store::install;

/// The message `id` in `locale`. A missing id renders as the id itself (and the
/// catalog test fails), never as an empty string; so does any id of a
/// language whose catalog the browser has not fetched.
pub fn tr(locale: Locale, id: &str) -> String {
    format(locale, id, None)
}

/// The message `id` with its variables, e.g. `tr_args(l, "greeting", &[("name", "Aiko".into())])`.
pub fn tr_args(locale: Locale, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let mut fluent_args = FluentArgs::with_capacity(args.len());
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    format(locale, id, Some(&fluent_args))
}

fn format(locale: Locale, id: &str, args: Option<&FluentArgs>) -> String {
    let Some(bundle) = store::bundle(locale) else {
        return id.to_owned();
    };
    let (message_id, attribute) = match id.split_once('.') {
        Some((m, a)) => (m, Some(a)),
        None => (id, None),
    };
    let Some(message) = bundle.get_message(message_id) else {
        return id.to_owned();
    };
    let pattern = match attribute {
        Some(attr) => message.get_attribute(attr).map(|a| a.value()),
        None => message.value(),
    };
    let Some(pattern) = pattern else { return id.to_owned() };
    let mut errors = Vec::new();
    bundle.format_pattern(pattern, args, &mut errors).into_owned()
}

/// A server error in `locale`, with its details (limits, wait time).
pub fn tr_error(locale: Locale, error: &crate::error::AppError) -> String {
    use crate::domain::fields::FieldError;
    use crate::error::AppError;
    let args: Vec<(&str, FluentValue)> = match error {
        AppError::Invalid { error: FieldError::TooLong { max }, .. } => vec![("max", (*max).into())],
        AppError::Invalid { error: FieldError::TooShort { min }, .. } => vec![("min", (*min).into())],
        AppError::Invalid { error: FieldError::AmountBelowMinimum { min }, .. } => vec![("min", min.clone().into())],
        AppError::Invalid { error: FieldError::AmountAboveMaximum { max }, .. } => vec![("max", max.clone().into())],
        AppError::Invalid { error: FieldError::AmountNotWhole { example }, .. } => vec![("example", example.clone().into())],
        AppError::Invalid { error: FieldError::TooManyKeys { max }, .. } => vec![("max", (*max).into())],
        AppError::Invalid { error: FieldError::ImageQuota { max_mb }, .. } => vec![("max", (*max_mb).into())],
        AppError::Invalid { error: FieldError::LimitBelowCaptured { captured }, .. } => vec![("captured", (*captured).into())],
        AppError::RateLimited { retry_after_secs } => vec![("minutes", retry_after_secs.div_ceil(60).max(1).into())],
        AppError::ProviderRefused { message } => vec![("message", message.clone().into())],
        _ => vec![],
    };
    tr_args(locale, error.message_id(), &args)
}

mod view {
    use super::*;
    use crate::error::AppError;
    use leptos::prelude::*;

    /// The language of the page being shown, shared by every component.
    #[derive(Clone, Copy)]
    pub struct I18n {
        locale: RwSignal<Locale>,
    }

    impl I18n {
        pub fn locale(&self) -> Locale {
            self.locale.get()
        }

        /// Switches the page to `locale`; in the browser once its catalog is
        /// here (fetched the first time), so no view shows message ids.
        pub fn set_locale(&self, locale: Locale) {
            #[cfg(feature = "hydrate")]
            if super::store::bundle(locale).is_none() {
                let signal = self.locale;
                leptos::task::spawn_local(async move {
                    match fetch_catalog(locale).await.and_then(|source| super::install(locale, source)) {
                        Ok(()) => signal.set(locale),
                        Err(error) => leptos::logging::error!("catalog {locale}: {error}"),
                    }
                });
                return;
            }
            self.locale.set(locale);
        }

        /// Reactive: call it inside a closure in a view to follow language changes.
        pub fn tr(&self, id: &str) -> String {
            tr(self.locale.get(), id)
        }

        /// The message `id` as a reactive text for a view (it follows language
        /// changes). One concrete type for every message: the browser bundle
        /// carries one copy of the rendering code instead of one per closure.
        pub fn text(&self, id: &'static str) -> Signal<String> {
            let locale = self.locale;
            Signal::derive(move || tr(locale.get(), id))
        }

        pub fn tr_args(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
            tr_args(self.locale.get(), id, args)
        }

        /// A label naming a time zone ("Date (Tokyo time)"): `id` takes `$zone`.
        pub fn tr_zone(&self, id: &str, zone: crate::domain::time_zone::TimeZone) -> String {
            let name = self.tr(&zone.message_id());
            self.tr_args(id, &[("zone", name.into())])
        }

        /// A server error, localized with its details (limits, wait time).
        pub fn error(&self, error: &AppError) -> String {
            tr_error(self.locale.get(), error)
        }
    }

    /// Sets up the page language: on the server from the request (cookie, then
    /// `Accept-Language`), in the browser from the `<html lang>` the server
    /// rendered, so hydration sees exactly what the server saw.
    pub fn provide_i18n() -> I18n {
        #[cfg(feature = "ssr")]
        let locale = initial_locale();
        #[cfg(not(feature = "ssr"))]
        let locale = page_locale();
        let i18n = I18n { locale: RwSignal::new(locale) };
        provide_context(i18n);
        #[cfg(feature = "hydrate")]
        Effect::new(move |_| {
            let code = i18n.locale().code();
            if let Some(root) = document().document_element() {
                let _ = root.set_attribute("lang", code);
            }
        });
        i18n
    }

    pub fn use_i18n() -> I18n {
        expect_context::<I18n>()
    }

    #[cfg(feature = "ssr")]
    fn initial_locale() -> Locale {
        use_context::<http::request::Parts>().map(|parts| crate::server::locale::from_headers(&parts.headers)).unwrap_or_default()
    }

    #[cfg(feature = "hydrate")]
    async fn fetch_catalog(locale: Locale) -> Result<String, String> {
        use wasm_bindgen::JsCast;
        let failed = |e: wasm_bindgen::JsValue| format!("{e:?}");
        let window = web_sys::window().ok_or("no window")?;
        let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&super::catalog_url(locale))).await.map_err(failed)?;
        let response: web_sys::Response = response.dyn_into().map_err(failed)?;
        if !response.ok() {
            return Err(format!("HTTP {}", response.status()));
        }
        let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(failed)?).await.map_err(failed)?;
        text.as_string().ok_or_else(|| "not text".to_owned())
    }

    /// The language the server rendered the page in (`<html lang>`).
    #[cfg(not(feature = "ssr"))]
    pub fn page_locale() -> Locale {
        document().document_element().and_then(|root| root.get_attribute("lang")).and_then(|code| code.parse().ok()).unwrap_or_default()
    }
}

#[cfg(not(feature = "ssr"))]
pub use view::page_locale;
pub use view::{provide_i18n, use_i18n, I18n};

#[cfg(test)]
mod tests {
    use super::*;
    use fluent_syntax::ast;
    use std::collections::{BTreeMap, BTreeSet};

    /// message id (or `id.attribute`) → the variables it uses.
    fn catalog(locale: Locale) -> BTreeMap<String, BTreeSet<String>> {
        let mut ids = BTreeMap::new();
        for (_, file, source) in CATALOGS.iter().chain(SERVER_CATALOGS).filter(|(l, _, _)| *l == locale.code()) {
            let resource = fluent_syntax::parser::parse(*source).unwrap_or_else(|(_, e)| panic!("locales/{locale}/{file}: {e:?}"));
            for entry in resource.body {
                if let ast::Entry::Message(message) = entry {
                    let id = message.id.name.to_owned();
                    if let Some(value) = &message.value {
                        ids.insert(id.clone(), variables(value));
                    }
                    for attribute in &message.attributes {
                        ids.insert(format!("{id}.{}", attribute.id.name), variables(&attribute.value));
                    }
                }
            }
        }
        ids
    }

    fn variables(pattern: &ast::Pattern<&str>) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                collect_expression(expression, &mut found);
            }
        }
        found
    }

    fn collect_expression(expression: &ast::Expression<&str>, found: &mut BTreeSet<String>) {
        match expression {
            ast::Expression::Inline(inline) => collect_inline(inline, found),
            ast::Expression::Select { selector, variants } => {
                collect_inline(selector, found);
                for variant in variants {
                    found.extend(variables(&variant.value));
                }
            }
        }
    }

    fn collect_inline(inline: &ast::InlineExpression<&str>, found: &mut BTreeSet<String>) {
        match inline {
            ast::InlineExpression::VariableReference { id } => {
                found.insert(id.name.to_owned());
            }
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                for arg in &arguments.positional {
                    collect_inline(arg, found);
                }
                for arg in &arguments.named {
                    collect_inline(&arg.value, found);
                }
            }
            ast::InlineExpression::Placeable { expression } => collect_expression(expression, found),
            _ => {}
        }
    }

    #[test]
    fn every_locale_has_the_same_messages_with_the_same_variables() {
        let reference = catalog(Locale::En);
        assert!(!reference.is_empty(), "the English catalog is empty");
        let mut problems = Vec::new();
        for locale in Locale::ALL {
            let other = catalog(locale);
            for (id, vars) in &reference {
                match other.get(id) {
                    None => problems.push(format!("{locale}: missing `{id}`")),
                    Some(v) if v != vars => problems.push(format!("{locale}: `{id}` uses variables {v:?}, English uses {vars:?}")),
                    Some(_) => {}
                }
            }
            for id in other.keys().filter(|id| !reference.contains_key(*id)) {
                problems.push(format!("{locale}: `{id}` is not in the English catalog"));
            }
        }
        assert!(problems.is_empty(), "catalogs disagree:\n{}", problems.join("\n"));
    }

    #[test]
    fn catalogs_load_and_translate() {
        assert_eq!(tr(Locale::En, "app-name"), "Paylinks");
        assert_ne!(tr(Locale::Ja, "home-title"), tr(Locale::En, "home-title"));
        assert_ne!(tr(Locale::Ko, "home-title"), tr(Locale::En, "home-title"));
    }

    #[test]
    fn missing_message_renders_its_id() {
        assert_eq!(tr(Locale::En, "no-such-message"), "no-such-message");
    }

    #[test]
    fn variables_are_inserted_without_isolation_marks() {
        let text = tr_args(Locale::En, "lang-changed", &[("language", "Acme".into())]);
        assert!(text.contains("Acme"), "{text}");
        assert!(!text.contains('\u{2068}'), "{text:?}");
    }
}

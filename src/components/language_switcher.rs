use crate::domain::Locale;
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;

/// Remembers the visitor's language choice in the `lang` cookie, and for a
/// signed-in merchant as the dashboard language setting. Without JavaScript
/// the form posts and the server redirects back to the page.
#[server(endpoint = "set_locale")]
pub async fn set_locale(locale: Locale) -> Result<Locale, AppError> {
    let request = crate::server::request::Request::current()?;
    if let Some(account) = request.account().await? {
        crate::server::accounts::set_locale(request.db(), account.id, locale).await?;
    }
    request.set_header(http::header::SET_COOKIE, crate::server::locale::set_cookie(locale));
    Ok(locale)
}

#[component]
pub fn LanguageSwitcher() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SetLocale>::new();
    Effect::new(move |_| {
        if let Some(Ok(locale)) = action.value().get() {
            i18n.set_locale(locale);
        }
    });
    let announcement =
        move || action.value().get().and_then(Result::ok).map(|locale| i18n.tr_args("lang-changed", &[("language", locale.native_name().into())]));
    let choices = Locale::ALL.map(|locale| {
        view! {
            <ActionForm action=action>
                <input type="hidden" name="locale" value=locale.code()/>
                <button
                    type="submit"
                    lang=locale.code()
                    data-locale=locale.code()
                    aria-pressed=move || (i18n.locale() == locale).to_string()
                >
                    {locale.native_name()}
                </button>
            </ActionForm>
        }
    });
    view! {
        <div class="lang-switch" role="group" aria-label=i18n.text("lang-switch-label")>
            {choices.into_iter().collect_view()}
            <p class="visually-hidden" role="status" aria-live="polite">{announcement}</p>
        </div>
    }
}

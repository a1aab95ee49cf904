//! Form helpers: localized errors next to the field they belong to.
use crate::error::AppError;
use crate::i18n::use_i18n;
use leptos::prelude::*;

/// The error of the last submission, if it concerns `field`.
#[component]
pub fn FieldMessage(#[prop(into)] error: Signal<Option<AppError>>, field: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().filter(|e| e.field() == Some(field)).map(|e| {
            view! { <p class="field-error" id=format!("{field}-error") role="alert">{i18n.error(&e)}</p> }
        })
    }
}

/// The error of the last submission when it concerns no single field.
#[component]
pub fn FormMessage(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().filter(|e| e.field().is_none()).map(|e| {
            view! { <p class="error" role="alert">{i18n.error(&e)}</p> }
        })
    }
}

/// The error of a server action's last result.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

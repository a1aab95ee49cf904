//! The link form's fields, shared by the create, quick and edit forms: the
//! image picker, the SCTA hint and instant checks with the server's own
//! parsers, with the server functions they call.

use super::*;

/// A product image, checked and stored; the link forms refer to it by hash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadedImage {
    pub sha: String,
    pub url: String,
}

#[server(endpoint = "upload_image", input = leptos::server_fn::codec::MultipartFormData)]
pub async fn upload_image(data: leptos::server_fn::codec::MultipartData) -> Result<UploadedImage, AppError> {
    use crate::domain::fields::FieldError;
    use crate::server::images::{self, MAX_BYTES};
    let (request, account) = merchant().await?;
    let mut multipart = data.into_inner().ok_or(AppError::BadRequest)?;
    let too_large = || AppError::invalid("image", FieldError::ImageTooLarge);
    let mut bytes = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(|_| too_large())? {
        if field.name() != Some("image") {
            continue;
        }
        while let Some(chunk) = field.chunk().await.map_err(|_| too_large())? {
            // Stop reading as soon as the file is too big.
            if bytes.len() + chunk.len() > MAX_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    let sha = images::store(request.db(), account.id, bytes).await?;
    Ok(UploadedImage { url: images::url(&sha), sha })
}

/// The SCTA items a description should state because the merchant's SCTA
/// page does not (all of them while the page is empty).
#[server(endpoint = "scta_gaps")]
pub async fn scta_gaps() -> Result<Vec<SctaItem>, AppError> {
    let (request, account) = merchant().await?;
    let page = crate::server::accounts::application(request.db(), account.id).await?;
    Ok(SctaItem::missing_from(&page.form))
}

/// Picks, checks (on the server) and previews the product image; the form
/// submits its hash in `link[image]`.
#[component]
fn ImagePicker(initial: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let initial_sha = initial.as_ref().and_then(|url| url.rsplit('/').next()).unwrap_or_default().to_owned();
    let chosen = RwSignal::new(initial.map(|url| UploadedImage { sha: initial_sha, url }));
    let error = RwSignal::new(None::<AppError>);
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input: web_sys::HtmlInputElement = ev.target().expect("input").unchecked_into();
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                let data = web_sys::FormData::new().expect("FormData");
                let _ = data.append_with_blob("image", &file);
                error.set(None);
                leptos::task::spawn_local(async move {
                    match upload_image(data.into()).await {
                        Ok(image) => chosen.set(Some(image)),
                        Err(e) => error.set(Some(e)),
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, error);
    };
    let error: Signal<Option<AppError>> = error.into();
    view! {
        <div class="field image-field">
            <label for="link-image-file">{i18n.text("link-field-image")}</label>
            <input id="link-image-file" type="file" accept="image/png,image/jpeg" on:change=on_change/>
            <input type="hidden" name="link[image]" value=move || chosen.get().map(|i| i.sha).unwrap_or_default()/>
            <p class="hint">{i18n.text("link-image-hint")}</p>
            <FieldMessage error field="image"/>
            {move || chosen.get().map(|image| view! {
                <div class="image-preview">
                    <img src=image.url alt=i18n.text("link-image-preview") width="160"/>
                    <button type="button" class="link-button" on:click=move |_| chosen.set(None)>
                        {i18n.text("link-image-remove")}
                    </button>
                </div>
            })}
        </div>
    }
}

/// "State these in the description, as your SCTA page does not: …".
fn scta_hint(i18n: crate::i18n::I18n, items: &[SctaItem]) -> String {
    let separator = if i18n.locale() == Locale::Ja { "、" } else { ", " };
    let names: Vec<String> = items.iter().map(|item| i18n.tr(item.message_id())).collect();
    i18n.tr_args("link-description-hint", &[("items", names.join(separator).into())])
}

/// The fields shared by the create, quick and edit forms.
#[component]
pub(super) fn LinkFieldsView(
    error: Signal<Option<AppError>>,
    #[prop(optional)] link: Option<LinkView>,
    /// Quick Payment Link: only name and price up front, the rest folded away.
    #[prop(optional)]
    quick: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let tz = crate::components::session::use_time_zone();
    // Instant feedback with the very parsers the server runs; the server still
    // decides. A local error shows until its field is fixed.
    let local = RwSignal::new(None::<AppError>);
    let server_error = error;
    let error = Signal::derive(move || local.get().or_else(|| server_error.get()));
    let report = move |field: &'static str, result: Result<(), (&'static str, FieldError)>| match result {
        Err((field, e)) => local.set(Some(AppError::invalid(field, e))),
        Ok(()) => {
            let same_field = local.with_untracked(|e| e.as_ref().and_then(AppError::field) == Some(field));
            let money_field = field == "amount" && local.with_untracked(|e| e.as_ref().and_then(AppError::field) == Some("currency"));
            if same_field || money_field {
                local.set(None);
            }
        }
    };
    let amount_ref = NodeRef::<leptos::html::Input>::new();
    let currency_ref = NodeRef::<leptos::html::Select>::new();
    // The price as the customer will see it ("= $10.50"), since it is typed
    // in the smallest unit.
    let preview = RwSignal::new(String::new());
    let check_money = move || {
        let amount = amount_ref.get_untracked().map(|i| i.value()).unwrap_or_default();
        if amount.trim().is_empty() {
            preview.set(String::new());
            return;
        }
        let currency = currency_ref.get_untracked().map(|s| s.value()).unwrap_or_default();
        let input = LinkInput { amount, currency, ..Default::default() };
        let money = input.money();
        preview.set(money.as_ref().map(|m| format!("= {}", m.format(i18n.locale()))).unwrap_or_default());
        report("amount", money.map(|_| ()));
    };
    let check_name = move |value: String| {
        report("name", crate::domain::ProductName::parse(&value).map(|_| ()).map_err(|e| ("name", e)));
    };
    let check_limit = move |value: String| {
        let input = LinkInput { name: "x".into(), usage_limit: value, ..Default::default() };
        report("usage_limit", input.details(Locale::En, tz.get_untracked(), 0).map(|_| ()));
    };
    let name = link.as_ref().map(|l| l.name.clone()).unwrap_or_default();
    let description = link.as_ref().map(|l| l.description.clone()).unwrap_or_default();
    let language = link.as_ref().map(|l| l.language).unwrap_or(i18n.locale());
    let usage_limit = link.as_ref().and_then(|l| l.usage_limit).map(|n| n.to_string()).unwrap_or_default();
    // In the merchant's time zone (the server reads it back in the same zone).
    let expires_ms = link.as_ref().and_then(|l| l.expires_at);
    let expires_at = move || expires_ms.map(|t| tz.get().local(t)).unwrap_or_default();
    let status = link.as_ref().map(|l| l.status).unwrap_or(LinkStatus::Active);
    let price = link.as_ref().map(|l| format_minor(l.amount, l.currency, i18n.locale()));
    let image = link.as_ref().and_then(|l| l.image_url.clone());

    let money = match price {
        // Amount and currency are fixed once the link exists.
        Some(price) => view! {
            <div class="field">
                <span class="label">{i18n.text("link-field-amount")}</span>
                <p class="readonly" data-testid="link-price">{price}</p>
                <p class="hint">{i18n.text("link-amount-fixed")}</p>
            </div>
        }
        .into_any(),
        None => view! {
            <div class="field-row">
                <div class="field grow">
                    <label for="link-amount">{i18n.text("link-field-amount")}</label>
                    <input
                        id="link-amount"
                        name="link[amount]"
                        inputmode="numeric"
                        aria-describedby="amount-hint amount-preview"
                        required
                        autocomplete="off"
                        node_ref=amount_ref
                        on:input=move |_| check_money()
                    />
                    <output id="amount-preview" for="link-amount link-currency" class="amount-preview" aria-live="polite">
                        {move || preview.get()}
                    </output>
                    <FieldMessage error field="amount"/>
                </div>
                <div class="field">
                    <label for="link-currency">{i18n.text("link-field-currency")}</label>
                    <select id="link-currency" name="link[currency]" node_ref=currency_ref on:change=move |_| check_money()>
                        {Currency::ALL.map(|c| view! { <option value=c.code()>{c.code()}</option> }).into_iter().collect_view()}
                    </select>
                    <FieldMessage error field="currency"/>
                </div>
            </div>
            <p class="hint" id="amount-hint">{i18n.text("link-amount-hint")}</p>
        }
        .into_any(),
    };
    // Fetched once the page is interactive: a resource of its own inside the
    // page's <Transition> could make hydration wait where the server did not.
    let scta = RwSignal::new(None::<Vec<SctaItem>>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(items) = scta_gaps().await {
                scta.set(Some(items));
            }
        });
    });
    let language_options = Locale::ALL.map(|l| view! { <option value=l.code() selected=l == language>{l.native_name()}</option> }).into_iter().collect_view();
    let details = view! {
        <ImagePicker initial=image/>
        <div class="field">
            <label for="link-description">{i18n.text("link-field-description")}</label>
            <textarea id="link-description" name="link[description]" rows="5" maxlength="5000">{description}</textarea>
            {move || scta.get().filter(|items| !items.is_empty()).map(|items| {
                view! { <p class="hint" id="description-hint" data-testid="scta-hint">{move || scta_hint(i18n, &items)}</p> }
            })}
            <FieldMessage error field="description"/>
        </div>
        <div class="field">
            <label for="link-language">{i18n.text("link-field-language")}</label>
            <select id="link-language" name="link[language]">{language_options}</select>
            <FieldMessage error field="language"/>
        </div>
    };
    let advanced = view! {
        <div class="field">
            <label for="link-usage-limit">{i18n.text("link-field-usage-limit")}</label>
            <input
                id="link-usage-limit"
                name="link[usage_limit]"
                type="number"
                min="1"
                step="1"
                value=usage_limit
                on:input=move |ev| check_limit(event_target_value(&ev))
            />
            <p class="hint">{i18n.text("link-usage-limit-hint")}</p>
            <FieldMessage error field="usage_limit"/>
        </div>
        <div class="field">
            <label for="link-expires-at">{i18n.text("link-field-expires-at")}</label>
            <input id="link-expires-at" name="link[expires_at]" type="datetime-local" value=expires_at aria-describedby="expires-at-hint"/>
            <p class="hint" id="expires-at-hint">{move || i18n.tr_zone("link-expires-at-hint", tz.get())}</p>
            <FieldMessage error field="expires_at"/>
        </div>
    };
    // Offered on every form (Active unless chosen otherwise): a merchant may
    // prepare a link before opening it for payments.
    let status_field = view! {
        <div class="field">
            <label for="link-status">{i18n.text("link-field-status")}</label>
            <select id="link-status" name="link[status]">
                <option value="active" selected=status == LinkStatus::Active>{i18n.text("link-status-active")}</option>
                <option value="inactive" selected=status == LinkStatus::Inactive>{i18n.text("link-status-inactive")}</option>
            </select>
            <FieldMessage error field="status"/>
        </div>
    };
    let (rest, status_up_front) = if quick {
        let rest = view! {
            <details class="advanced">
                <summary>{i18n.text("link-advanced")}</summary>
                {status_field}
                {details}
                {advanced}
            </details>
        };
        (rest.into_any(), None)
    } else {
        let rest = view! {
            {details}
            <fieldset>
                <legend>{i18n.text("link-advanced")}</legend>
                {advanced}
            </fieldset>
        };
        (rest.into_any(), Some(status_field))
    };
    view! {
        <FormMessage error/>
        <div class="field">
            <label for="link-name">{i18n.text("link-field-name")}</label>
            <input
                id="link-name"
                name="link[name]"
                required
                maxlength="100"
                value=name
                autocomplete="off"
                on:input=move |ev| check_name(event_target_value(&ev))
            />
            <FieldMessage error field="name"/>
        </div>
        {money}
        {status_up_front}
        {rest}
    }
}

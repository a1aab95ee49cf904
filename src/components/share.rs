//! The share panel: the link URL with a copy button, and its QR code drawn in
//! the browser (WASM) with downloads as PNG and SVG and "copy image".

use crate::domain::qr::{file_stem, QrMatrix};
use crate::i18n::use_i18n;
use leptos::prelude::*;

#[component]
pub fn SharePanel(url: String, name: String, slug: String, test: bool) -> impl IntoView {
    let i18n = use_i18n();
    // Drawn after hydration only: the server sends an empty figure, so the
    // HTML the browser hydrates is the same on both sides.
    let qr = RwSignal::new(None::<QrMatrix>);
    let status = RwSignal::new(None::<&'static str>);
    let caption = test.then_some("TEST");
    {
        let url = url.clone();
        Effect::new(move |_| {
            let url = url.clone();
            leptos::task::spawn_local(async move { qr.set(encode_qr(url).await) });
        });
    }
    let stem = file_stem(&name, &slug, test);
    let title = i18n.tr("share-qr-label");
    let svg = {
        let title = title.clone();
        move || qr.get().map(|m| m.svg(&title, caption)).unwrap_or_default()
    };
    let ready = move || qr.get().is_some();

    let say = move |id: &'static str| status.set(Some(id));
    let copy_url = {
        let url = url.clone();
        move |_| {
            let url = url.clone();
            leptos::task::spawn_local(async move {
                let ok = browser::copy_text(&url, "share-url").await;
                say(if ok { "share-copied" } else { "share-copy-failed" });
            });
        }
    };
    let download_svg = {
        let stem = stem.clone();
        let title = title.clone();
        move |_| {
            if let Some(m) = qr.get_untracked() {
                browser::download(&browser::svg_data_url(&m.svg(&title, caption)), &format!("{stem}.svg"));
            }
        }
    };
    let download_png = {
        let stem = stem.clone();
        move |_| {
            if let Some(href) = qr.get_untracked().and_then(|m| browser::png_data_url(&m, caption)) {
                browser::download(&href, &format!("{stem}.png"));
            }
        }
    };
    let copy_image = move |_| {
        if let Some(m) = qr.get_untracked() {
            leptos::task::spawn_local(async move {
                let ok = browser::copy_png(&m, caption).await;
                say(if ok { "share-image-copied" } else { "share-copy-failed" });
            });
        }
    };
    view! {
        <section class="card share" aria-labelledby="share-title">
            <h2 id="share-title">{i18n.text("share-title")}</h2>
            <label for="share-url">{i18n.text("link-url")}</label>
            <div class="copy-row">
                <input id="share-url" class="url" readonly value=url.clone() data-testid="share-url"/>
                <button type="button" class="button" on:click=copy_url disabled=move || !ready()>
                    {i18n.text("share-copy-url")}
                </button>
            </div>
            <p class="share-open">
                <a href=url.clone() target="_blank" rel="external noopener">{i18n.text("link-open")}</a>
            </p>
            <div class="qr-block">
                <figure class="qr" data-testid="qr" data-ready=move || ready().to_string()
                    aria-label=i18n.text("share-qr-label") inner_html=svg></figure>
                <div class="qr-actions">
                    {test.then(|| view! { <p class="hint qr-test-note">{i18n.text("share-test-qr")}</p> })}
                    <button type="button" class="button" on:click=download_png disabled=move || !ready()>
                        {i18n.text("share-download-png")}
                    </button>
                    <button type="button" class="button" on:click=download_svg disabled=move || !ready()>
                        {i18n.text("share-download-svg")}
                    </button>
                    <button type="button" class="button" on:click=copy_image disabled=move || !ready()>
                        {i18n.text("share-copy-image")}
                    </button>
                </div>
            </div>
            <p class="share-status" role="status" aria-live="polite" data-testid="share-status">
                {move || status.get().map(|id| i18n.tr(id))}
            </p>
        </section>
    }
}

/// The QR encoder has its own WASM file, fetched when the panel is first
/// drawn: the code is drawn after hydration anyway, so the page hydrates
/// without waiting for it.
#[lazy]
async fn encode_qr(url: String) -> Option<QrMatrix> {
    QrMatrix::encode(&url)
}

/// The browser side: clipboard, canvas and downloads. On the server these
/// never run (the buttons only work once hydrated).
#[cfg(feature = "hydrate")]
mod browser {
    use crate::domain::qr::{QrMatrix, QUIET_ZONE};

    /// Width in pixels the PNG is drawn at (at least): sharp when printed.
    const PNG_MIN_PIXELS: usize = 1024;
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    fn document() -> Option<web_sys::Document> {
        web_sys::window()?.document()
    }

    /// Saves `href` as `filename` (a temporary `<a download>`).
    pub fn download(href: &str, filename: &str) {
        let Some(doc) = document() else { return };
        let Some(a) = doc.create_element("a").ok().and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok()) else {
            return;
        };
        a.set_href(href);
        a.set_download(filename);
        if let Some(body) = doc.body() {
            let _ = body.append_child(&a);
            a.click();
            a.remove();
        }
    }

    pub fn svg_data_url(svg: &str) -> String {
        format!("data:image/svg+xml;charset=utf-8,{}", String::from(js_sys::encode_uri_component(svg)))
    }

    /// The code drawn module by module at an integer scale (no blur).
    fn canvas(qr: &QrMatrix, caption: Option<&str>) -> Option<web_sys::HtmlCanvasElement> {
        let outer = qr.outer_size();
        let scale = PNG_MIN_PIXELS.div_ceil(outer);
        let width = outer * scale;
        let caption_height = if caption.is_some() { 6 * scale } else { 0 };
        let canvas: web_sys::HtmlCanvasElement = document()?.create_element("canvas").ok()?.dyn_into().ok()?;
        canvas.set_width(width as u32);
        canvas.set_height((width + caption_height) as u32);
        let ctx: web_sys::CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
        ctx.set_fill_style_str("#ffffff");
        ctx.fill_rect(0.0, 0.0, width as f64, (width + caption_height) as f64);
        ctx.set_fill_style_str("#000000");
        for (x, y, len) in qr.runs() {
            let px = ((x + QUIET_ZONE) * scale) as f64;
            let py = ((y + QUIET_ZONE) * scale) as f64;
            ctx.fill_rect(px, py, (len * scale) as f64, scale as f64);
        }
        if let Some(caption) = caption {
            ctx.set_fill_style_str("#c0392b");
            ctx.set_font(&format!("700 {}px sans-serif", 5 * scale));
            ctx.set_text_align("center");
            let _ = ctx.fill_text(caption, width as f64 / 2.0, ((outer + 4) * scale) as f64);
        }
        Some(canvas)
    }

    pub fn png_data_url(qr: &QrMatrix, caption: Option<&str>) -> Option<String> {
        canvas(qr, caption)?.to_data_url_with_type("image/png").ok()
    }

    async fn png_blob(qr: &QrMatrix, caption: Option<&str>) -> Option<JsValue> {
        let canvas = canvas(qr, caption)?;
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            let done = Closure::once_into_js(move |blob: JsValue| {
                let _ = resolve.call1(&JsValue::NULL, &blob);
            });
            let _ = canvas.to_blob(done.unchecked_ref());
        });
        JsFuture::from(promise).await.ok().filter(|b| !b.is_null())
    }

    /// Puts the PNG on the clipboard (`ClipboardItem` with `image/png`).
    pub async fn copy_png(qr: &QrMatrix, caption: Option<&str>) -> bool {
        let Some(blob) = png_blob(qr, caption).await else { return false };
        let Some(window) = web_sys::window() else { return false };
        let record = js_sys::Object::new();
        if js_sys::Reflect::set(&record, &JsValue::from_str("image/png"), &blob).is_err() {
            return false;
        }
        let Ok(item) = web_sys::ClipboardItem::new_with_record_from_str_to_blob_promise(&record) else {
            return false;
        };
        let clipboard = window.navigator().clipboard();
        JsFuture::from(clipboard.write(&js_sys::Array::of1(&item))).await.is_ok()
    }

    /// The Clipboard API where the browser has it (secure contexts), else
    /// selecting the input's text and the old `copy` command.
    pub async fn copy_text(text: &str, input_id: &str) -> bool {
        if let Some(window) = web_sys::window() {
            let navigator = window.navigator();
            let has_api = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard")).is_ok_and(|c| !c.is_undefined());
            if has_api && JsFuture::from(navigator.clipboard().write_text(text)).await.is_ok() {
                return true;
            }
        }
        let Some(doc) = document() else { return false };
        if let Some(input) = doc.get_element_by_id(input_id).and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok()) {
            input.select();
        }
        doc.dyn_into::<web_sys::HtmlDocument>().ok().and_then(|d| d.exec_command("copy").ok()).unwrap_or(false)
    }
}

/// Server build: the same names, never called (no events run on the server).
#[cfg(not(feature = "hydrate"))]
mod browser {
    use crate::domain::qr::QrMatrix;

    pub fn download(_href: &str, _filename: &str) {}

    pub fn svg_data_url(_svg: &str) -> String {
        String::new()
    }

    pub fn png_data_url(_qr: &QrMatrix, _caption: Option<&str>) -> Option<String> {
        None
    }

    pub async fn copy_png(_qr: &QrMatrix, _caption: Option<&str>) -> bool {
        false
    }

    pub async fn copy_text(_text: &str, _input_id: &str) -> bool {
        false
    }
}

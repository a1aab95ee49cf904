//! `/docs/api`: the REST API reference, rendered on the server from the same
//! OpenAPI document the API serves, so it cannot drift from the code. Plain
//! HTML (no WASM): developers read it, link to it, print it. The guide parts
//! are in the reader's language; the per-operation text comes from the code's
//! doc comments (English).

use crate::domain::Locale;
use crate::i18n::tr;
use crate::server::api::ApiDoc;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue};
use leptos::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::OpenApi;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct DocsQuery {
    lang: String,
}

pub async fn page(Query(query): Query<DocsQuery>, headers: HeaderMap) -> Response {
    let locale = Locale::from_tag(&query.lang).unwrap_or_else(|| crate::server::locale::from_headers(&headers));
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let operations = operations(&doc);
    let owner = Owner::new();
    let html = owner.with(|| format!("<!DOCTYPE html>{}", view! { <Reference locale operations/> }.into_view().to_html()));
    let mut response = html.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// One operation, flattened from the document for display.
#[derive(Clone, Debug)]
struct Operation {
    tag: String,
    method: String,
    path: String,
    summary: String,
    /// (name, where, type, required, description)
    params: Vec<(String, String, String, bool, String)>,
    /// Fields of the JSON or multipart body: (name, type, description).
    body: Vec<(String, String, String)>,
    /// (status, description)
    responses: Vec<(String, String)>,
}

impl Operation {
    fn anchor(&self) -> String {
        format!("{}-{}", self.method.to_lowercase(), self.path.trim_start_matches("/api/v1/").replace(['/', '{', '}'], "-"))
    }
}

/// Follows a `$ref` into `components`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// "string", "integer | null", "PaymentStatus", "active | inactive | null":
/// `null` always last.
fn type_name(doc: &Value, schema: &Value) -> String {
    let mut parts = type_parts(doc, schema);
    parts.sort_by_key(|p| p == "null");
    parts.dedup();
    parts.join(" | ")
}

fn type_parts(doc: &Value, schema: &Value) -> Vec<String> {
    let strings = |values: &Vec<Value>| values.iter().filter_map(Value::as_str).map(str::to_owned).collect();
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return match resolve(doc, schema)["enum"].as_array() {
            Some(values) => strings(values),
            None => vec![name.to_owned()],
        };
    }
    if let Some(options) = schema["oneOf"].as_array() {
        return options.iter().flat_map(|o| type_parts(doc, o)).collect();
    }
    match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(types) => strings(types),
        _ => vec!["object".into()],
    }
}

/// A description without Markdown's code ticks (the page shows plain text).
fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().replace('`', "")
}

/// A field's description, also when it sits on the non-null side of `oneOf`.
fn description(field: &Value) -> String {
    match field["description"].as_str() {
        Some(_) => text(&field["description"]),
        None => field["oneOf"].as_array().into_iter().flatten().map(|o| text(&o["description"])).find(|d| !d.is_empty()).unwrap_or_default(),
    }
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut all = Vec::new();
    let Some(paths) = doc["paths"].as_object() else { return all };
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            let params = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["in"].as_str().unwrap_or_default().to_owned(),
                        type_name(doc, &p["schema"]),
                        p["required"].as_bool().unwrap_or(false),
                        text(&p["description"]),
                    )
                })
                .collect();
            let body = op["requestBody"]["content"]
                .as_object()
                .and_then(|content| content.values().next())
                .map(|media| {
                    let schema = resolve(doc, &media["schema"]);
                    let schema = match schema["oneOf"].as_array() {
                        // `Option<T>`: the non-null alternative.
                        Some(options) => options.iter().map(|o| resolve(doc, o)).find(|o| o["type"] != "null").unwrap_or(schema),
                        None => schema,
                    };
                    schema["properties"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(name, field)| (name.clone(), type_name(doc, field), description(field)))
                        .collect()
                })
                .unwrap_or_default();
            let responses: BTreeMap<String, String> =
                op["responses"].as_object().into_iter().flatten().map(|(status, r)| (status.clone(), text(&r["description"]))).collect();
            all.push(Operation {
                tag: op["tags"][0].as_str().unwrap_or_default().to_owned(),
                method: method.to_uppercase(),
                path: path.clone(),
                summary: text(if op["summary"].is_string() { &op["summary"] } else { &op["description"] }),
                params,
                body,
                responses: responses.into_iter().collect(),
            });
        }
    }
    // By tag, then reads before writes, then path.
    all.sort_by(|a, b| (&a.tag, a.method != "GET", &a.path).cmp(&(&b.tag, b.method != "GET", &b.path)));
    all
}

#[component]
fn Reference(locale: Locale, operations: Vec<Operation>) -> impl IntoView {
    let t = move |id: &str| tr(locale, id);
    let toc = operations.clone();
    view! {
        <html lang=locale.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>{t("docs-api-title")}</title>
                <link rel="icon" href=crate::server::assets::url("/favicon.svg") type="image/svg+xml"/>
                <link rel="stylesheet" href=crate::server::assets::url("/pkg/paylinks.css")/>
            </head>
            <body class="docs-body">
                <main class="docs">
                    <nav class="docs-top" aria-label=t("docs-api-languages")>
                        <a href="/dashboard">{t("docs-api-back")}</a>
                        <span class="docs-langs">
                            {Locale::ALL.into_iter().map(|l| view! {
                                <a href=format!("/docs/api?lang={}", l.code()) hreflang=l.code() aria-current=(l == locale).then_some("page")>{l.native_name()}</a>
                            }).collect_view()}
                        </span>
                    </nav>
                    <h1>{t("docs-api-title")}</h1>
                    <p>{t("docs-api-intro")}</p>
                    <section aria-labelledby="guide">
                        <h2 id="guide">{t("docs-api-guide")}</h2>
                        <h3>{t("docs-api-auth")}</h3>
                        <p>{t("docs-api-auth-text")}</p>
                        <pre><code>"curl https://pay.example.com/api/v1/payment_links \\\n  -H \"Authorization: Bearer sk_test_…\" \\\n  -H \"Idempotency-Key: 6f1c…\" \\\n  -H \"Content-Type: application/json\" \\\n  -d '{\"name\": \"Order #1001\", \"amount\": 1500, \"currency\": \"JPY\"}'"</code></pre>
                        <h3>{t("docs-api-money")}</h3>
                        <p>{t("docs-api-money-text")}</p>
                        <h3>{t("docs-api-errors")}</h3>
                        <p>{t("docs-api-errors-text")}</p>
                        <pre><code>"{\"error\": {\"type\": \"invalid_request_error\", \"code\": \"amount_below_minimum\",\n           \"message\": \"invalid amount: below the minimum ¥50\", \"param\": \"amount\"}}"</code></pre>
                        <h3>{t("docs-api-idempotency")}</h3>
                        <p>{t("docs-api-idempotency-text")}</p>
                        <h3>{t("docs-api-pagination")}</h3>
                        <p>{t("docs-api-pagination-text")}</p>
                        <h3>{t("docs-api-limits")}</h3>
                        <p>{t("docs-api-limits-text")}</p>
                        <p><a href="/api/v1/openapi.json">{t("docs-api-openapi")}</a></p>
                    </section>
                    <Webhooks locale/>
                    <nav aria-labelledby="operations">
                        <h2 id="operations">{t("docs-api-operations")}</h2>
                        <ul class="docs-toc">
                            {toc.into_iter().map(|op| view! {
                                <li><a href=format!("#{}", op.anchor())><code class="method">{op.method.clone()}</code>" "<code>{op.path.clone()}</code></a></li>
                            }).collect_view()}
                        </ul>
                    </nav>
                    {operations.into_iter().map(|op| view! { <OperationView op locale/> }).collect_view()}
                </main>
            </body>
        </html>
    }
}

/// How a receiver checks a delivery (Node.js, no dependencies). The tests run
/// this exact text against real deliveries.
pub const VERIFY_NODE: &str = r#"const crypto = require("node:crypto");

// secret: "whsec_…" from Settings › Webhooks. body: the raw request body, as
// received (verify before parsing it). headers: lower-case names.
function verifyPaylinks(secret, headers, body) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  // Refuse old deliveries: a replayed request is older than five minutes.
  if (!id || !timestamp || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = crypto.createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  // During a secret rotation there are two signatures: one must match.
  return (headers["webhook-signature"] || "").split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    const given = Buffer.from(signature || "", "base64");
    return version === "v1" && given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}"#;

const EXAMPLE_EVENT: &str = r#"POST /webhooks/paylinks HTTP/1.1
content-type: application/json
webhook-id: evt_3hZ8qGm1Q0uYc6vT9kWbLd
webhook-timestamp: 1795500000
webhook-signature: v1,<base64 of HMAC-SHA256>

{"id": "evt_3hZ8qGm1Q0uYc6vT9kWbLd", "type": "payment.captured", "mode": "test",
 "created_at": "2026-11-24T06:40:00Z",
 "data": {"object": "payment", "id": "pay_…", "payment_link": 42, "status": "captured",
          "amount": 1500, "refunded_amount": 0, "currency": "JPY", …}}"#;

#[component]
fn Webhooks(locale: Locale) -> impl IntoView {
    use crate::domain::webhook::EventType;
    let t = move |id: &str| tr(locale, id);
    view! {
        <section class="card" aria-labelledby="webhooks">
            <h2 id="webhooks">{t("docs-webhooks")}</h2>
            <p>{t("docs-webhooks-intro")}</p>
            <div class="table-wrap">
                <table class="docs-table">
                    <thead><tr><th>{t("docs-webhooks-event")}</th><th>{t("docs-api-description")}</th></tr></thead>
                    <tbody>
                        {EventType::SUBSCRIBABLE.into_iter().map(|e| view! {
                            <tr><td><code>{e.as_str()}</code></td><td>{t(&format!("docs-webhooks-{}", e.as_str().replace(['.', '_'], "-")))}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <h3>{t("docs-webhooks-request")}</h3>
            <p>{t("docs-webhooks-request-text")}</p>
            <pre><code>{EXAMPLE_EVENT}</code></pre>
            <h3>{t("docs-webhooks-verify")}</h3>
            <p>{t("docs-webhooks-verify-text")}</p>
            <pre><code data-snippet="verify-node">{VERIFY_NODE}</code></pre>
            <h3>{t("docs-webhooks-retries")}</h3>
            <p>{t("docs-webhooks-retries-text")}</p>
            <h3>{t("docs-webhooks-rotation")}</h3>
            <p>{t("docs-webhooks-rotation-text")}</p>
        </section>
    }
}

#[component]
fn OperationView(op: Operation, locale: Locale) -> impl IntoView {
    let t = move |id: &str| tr(locale, id);
    let has_params = !op.params.is_empty();
    let has_body = !op.body.is_empty();
    view! {
        <section class="card docs-op" id=op.anchor()>
            <h2><code class="method">{op.method.clone()}</code>" "<code>{op.path.clone()}</code></h2>
            <p>{op.summary.clone()}</p>
            {has_params.then(|| view! {
                <h3>{t("docs-api-parameters")}</h3>
                <table class="docs-table">
                    <thead><tr><th>{t("docs-api-name")}</th><th>{t("docs-api-in")}</th><th>{t("docs-api-type")}</th><th>{t("docs-api-description")}</th></tr></thead>
                    <tbody>
                        {op.params.iter().cloned().map(|(name, place, kind, required, description)| view! {
                            <tr>
                                <td><code>{name}</code>{required.then(|| view! { " "<span class="required">{t("docs-api-required")}</span> })}</td>
                                <td>{place}</td>
                                <td><code>{kind}</code></td>
                                <td>{description}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {has_body.then(|| view! {
                <h3>{t("docs-api-body")}</h3>
                <table class="docs-table">
                    <thead><tr><th>{t("docs-api-name")}</th><th>{t("docs-api-type")}</th><th>{t("docs-api-description")}</th></tr></thead>
                    <tbody>
                        {op.body.iter().cloned().map(|(name, kind, description)| view! {
                            <tr><td><code>{name}</code></td><td><code>{kind}</code></td><td>{description}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <h3>{t("docs-api-responses")}</h3>
            <dl class="docs-responses">
                {op.responses.iter().cloned().map(|(status, description)| view! {
                    <dt><code>{status}</code></dt><dd>{description}</dd>
                }).collect_view()}
            </dl>
        </section>
    }
}

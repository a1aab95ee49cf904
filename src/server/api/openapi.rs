//! The OpenAPI 3.1 document, generated from the handlers' annotations and the
//! types in [`super::objects`]; served at `/api/v1/openapi.json`.

use crate::server::wire::*;
use axum::Json;
use std::sync::OnceLock;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Paylinks API",
        description = "Create and manage payment links, read payments and refund them. \
            Authenticate with a secret key from Settings › API keys: `Authorization: Bearer sk_test_…` \
            (a test key sees only test data, a live key only live data). \
            Amounts are integers in the currency's smallest unit; times are RFC 3339 UTC. \
            Send `Idempotency-Key` on any POST to make retries safe: the first answer is replayed for 24 hours.",
    ),
    paths(
        super::create_link, super::list_links, super::get_link, super::update_link, super::deactivate_link, super::link_summary,
        super::list_payments, super::get_payment, super::refund_payment, super::upload_image,
    ),
    components(schemas(ErrorBody, PaymentWebhook, PaymentLinkWebhook, PingWebhook)),
    security(("secret_key" = [])),
    modifiers(&CommonAnswers),
    tags(
        (name = "Payment links", description = "Links customers pay on"),
        (name = "Payments", description = "Customers' payments and refunds"),
        (name = "Images", description = "Product images for links"),
    ),
)]
pub struct ApiDoc;

/// What every operation shares: the key, the error answers, the idempotency header.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "secret_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("sk_test_… or sk_live_…").build()),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            if let Some(get) = item.get.as_mut() {
                add_errors(get, has_id, false);
            }
            if let Some(post) = item.post.as_mut() {
                add_errors(post, has_id, true);
                if path != "/api/v1/images" {
                    post.parameters.get_or_insert_with(Vec::new).push(
                        ParameterBuilder::new()
                            .name("Idempotency-Key")
                            .parameter_in(ParameterIn::Header)
                            .required(Required::False)
                            .description(Some("Makes a retry safe: 1–255 visible ASCII characters, e.g. a UUID. Answers are kept for 24 hours."))
                            .schema(Some(
                                utoipa::openapi::ObjectBuilder::new()
                                    .schema_type(utoipa::openapi::schema::Type::String)
                                    .min_length(Some(1))
                                    .max_length(Some(255))
                                    .pattern(Some("^[\\x21-\\x7E]+$")),
                            ))
                            .build(),
                    );
                }
            }
        }
    }
}

fn add_errors(operation: &mut Operation, has_id: bool, is_post: bool) {
    let mut answers = vec![
        ("400", "Malformed request (JSON, query or multipart)"),
        ("401", "No API key, or an unknown or revoked one"),
        ("403", "Not allowed: a live key whose live mode was withdrawn"),
        ("422", "A field was refused; `param` names it"),
        ("429", "Too many requests with this key; see Retry-After"),
    ];
    if has_id {
        answers.push(("404", "No such object for this key's merchant and mode"));
    }
    if is_post {
        answers.push(("409", "The object's state does not allow this, the name is taken, or a request with this Idempotency-Key is in progress"));
        answers.push(("413", "The body is too large"));
    }
    for (status, description) in answers {
        if operation.responses.responses.contains_key(status) {
            continue;
        }
        let mut response = ResponseBuilder::new()
            .description(description)
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build());
        if status == "429" {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::Integer))
                    .description(Some("Seconds to wait"))
                    .build(),
            );
        }
        operation.responses.responses.insert(status.to_owned(), RefOr::T(response.build()));
    }
}

/// `GET /api/v1/openapi.json` (public: it holds no data).
pub async fn document() -> Json<&'static serde_json::Value> {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
        doc["webhooks"] = webhooks();
        doc
    }))
}

/// OpenAPI 3.1's `webhooks`: what Paylinks POSTs to a merchant's endpoints,
/// one entry per event type (utoipa has no builder for them yet).
fn webhooks() -> serde_json::Value {
    use crate::domain::webhook::EventType;
    let headers = [
        ("webhook-id", "The event's id (`evt_…`), the same on every retry and re-send."),
        ("webhook-timestamp", "Unix seconds when this attempt was signed. Refuse deliveries more than 5 minutes from your clock."),
        ("webhook-signature", "`v1,` + base64(HMAC-SHA256(key, \"{webhook-id}.{webhook-timestamp}.{body}\")), the key being the base64-decoded part of the endpoint's secret after `whsec_`. During a secret rotation there are two, separated by a space."),
    ];
    let parameters: Vec<serde_json::Value> = headers
        .iter()
        .map(|(name, description)| serde_json::json!({ "name": name, "in": "header", "required": true, "description": description, "schema": { "type": "string" } }))
        .collect();
    let mut map = serde_json::Map::new();
    for event in EventType::SUBSCRIBABLE.into_iter().chain([EventType::Ping]) {
        let (schema, summary) = match event {
            EventType::Ping => ("PingWebhook", "The dashboard's \"send test event\".".to_owned()),
            EventType::LinkUpdated | EventType::LinkDeactivated => ("PaymentLinkWebhook", webhook_summary(event)),
            _ => ("PaymentWebhook", webhook_summary(event)),
        };
        map.insert(
            event.as_str().to_owned(),
            serde_json::json!({ "post": {
                "summary": summary,
                "operationId": format!("webhook_{}", event.as_str().replace('.', "_")),
                "tags": ["Webhooks"],
                "parameters": parameters,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } },
                "responses": { "2XX": { "description": "Received. Any other answer, or none within the timeout, is retried for 24 hours." } },
            }}),
        );
    }
    serde_json::Value::Object(map)
}

/// The reference page's English description of an event.
fn webhook_summary(event: crate::domain::webhook::EventType) -> String {
    let id = format!("docs-webhooks-{}", event.as_str().replace(['.', '_'], "-"));
    crate::i18n::tr(crate::domain::Locale::En, &id)
}

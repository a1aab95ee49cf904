//! The OpenAPI 3.1 document, generated from the handlers' annotations and the
//! types in [`super::objects`]; served at `/api/v1/openapi.json`.

use super::objects::*;
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
    components(schemas(ErrorBody)),
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
pub async fn document() -> Json<&'static utoipa::openapi::OpenApi> {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    Json(DOCUMENT.get_or_init(ApiDoc::openapi))
}

//! The base OpenAPI document. Paths come from the routers (`http::router::api`), so routes
//! and documentation cannot diverge; building the spec does no I/O.
use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, ContentBuilder, RefOr, ResponseBuilder,
        security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        },
    },
};

use crate::http::problem::{PROBLEM_JSON, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Lets a CRM talk to its leads on Discord, for many companies at once.\n\n\
            Authenticate with a bearer JWT from `POST /api/auth/login`, a company API key \
            (`Authorization: Bearer sbk_…` or `X-Api-Key`), or the session cookie set at log-in. \
            Errors are `application/problem+json` with a stable `code`.",
        license(name = "MIT")
    ),
    components(schemas(
        Problem,
        crate::error::FieldError,
        crate::webhooks::view::WebhookTestMessage,
        crate::http::popup::PopupMessage,
    )),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Sign-up, log-in and the current principal"),
        (name = "companies", description = "The current company and its members"),
        (name = "api-keys", description = "Company API keys for CRM backends"),
        (name = "leads", description = "The people a company talks to"),
        (name = "integrations", description = "Connecting Discord and GitHub through OAuth popups"),
        (name = "channels", description = "Each lead's private Discord channel"),
        (name = "messages", description = "Messages to and from leads"),
        (name = "webhooks", description = "The company's webhook endpoints: every event pushed to its CRM backend, signed per Standard Webhooks"),
        (name = "github", description = "GitHub issues and pull requests linked to leads, and GitHub's webhook"),
        (name = "operations", description = "Health and readiness"),
        (name = "meta", description = "What the web app needs to know about this server"),
        (name = "sandbox", description = "Sandbox mode only: act as a lead in the Discord simulator, or as someone on the GitHub simulator"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or API key")
                    .description(Some("A JWT from log-in, or an API key (`sbk_…`)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::http::router::SESSION_COOKIE,
            ))),
        );
        // Every operation needs one of the three unless it says otherwise (`security(())`).
        doc.security = Some(
            ["bearer", "apiKey", "session"]
                .into_iter()
                .map(|name| SecurityRequirement::new(name, Vec::<String>::new()))
                .collect(),
        );
    }
}

/// Adds the error responses every operation shares, so handlers list only their own.
struct StandardResponses;

const STANDARD: &[(&str, &str, &str)] = &[
    (
        "401",
        "Unauthorized",
        "Missing, invalid, expired or revoked credentials.",
    ),
    ("404", "NotFound", "No such resource in your company."),
    ("413", "PayloadTooLarge", "The request body is too large."),
    (
        "415",
        "UnsupportedMediaType",
        "The body is not application/json.",
    ),
    (
        "422",
        "ValidationFailed",
        "A field or parameter is invalid; `errors` names it.",
    ),
    (
        "500",
        "InternalError",
        "An internal error; details are logged, not returned.",
    ),
    (
        "503",
        "ServiceUnavailable",
        "The database (`database_unavailable`) or the state store (`state_store_unavailable`) \
         cannot be reached; nothing was changed. Retry after `Retry-After` seconds.",
    ),
];

/// Liveness answers from the process alone, so it is the one operation an outage cannot fail.
const NEEDS_NO_BACKEND: &[&str] = &["/healthz"];

impl Modify for StandardResponses {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (status, name, description) in STANDARD {
            let mut response = ResponseBuilder::new().description(*description).content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(openapi::Ref::from_schema_name("Problem")))
                    .build(),
            );
            if *status == "503" {
                let seconds = openapi::ObjectBuilder::new()
                    .schema_type(openapi::schema::Type::Integer)
                    .minimum(Some(1));
                let mut retry_after = openapi::header::Header::new(seconds);
                retry_after.description = Some("Seconds to wait before retrying.".to_owned());
                response = response.header("Retry-After", retry_after);
            }
            let response = response.build();
            components
                .responses
                .insert((*name).to_owned(), RefOr::T(response));
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let secured = match &operation.security {
                    None => true,
                    Some(reqs) => reqs.iter().any(|r| *r != SecurityRequirement::default()),
                };
                let has_body = operation.request_body.is_some();
                let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                for (status, name, _) in STANDARD {
                    let applies = match *status {
                        "401" => secured,
                        "404" => path.contains('{'),
                        "413" | "415" => has_body,
                        "422" => has_body || has_params,
                        "503" => !NEEDS_NO_BACKEND.contains(&path.as_str()),
                        _ => true,
                    };
                    if applies && !operation.responses.responses.contains_key(*status) {
                        operation.responses.responses.insert(
                            (*status).to_owned(),
                            RefOr::Ref(openapi::Ref::new(format!("#/components/responses/{name}"))),
                        );
                    }
                }
            }
        }
    }
}

/// The complete document, as served at `/openapi.json` and written to `openapi/openapi.json`.
pub fn spec() -> openapi::OpenApi {
    finish(crate::http::router::api().split_for_parts().1)
}

/// Completes the document once the routers have added their paths.
pub fn finish(mut doc: openapi::OpenApi) -> openapi::OpenApi {
    StandardResponses.modify(&mut doc);
    doc
}

/// The document as JSON, with OpenAPI 3.1's `webhooks`: what Switchboard posts to a company's
/// webhook endpoints (utoipa has no field for them, so they are added here).
pub fn document(doc: openapi::OpenApi) -> serde_json::Value {
    let mut value = serde_json::to_value(&doc).unwrap_or_default();
    value["webhooks"] = webhooks();
    value
}

/// What a webhook endpoint receives, as OpenAPI 3.1 `webhooks`.
fn webhooks() -> serde_json::Value {
    let message = |schema: &str, summary: &str| {
        serde_json::json!({
            "post": {
                "summary": summary,
                "description": "Posted to each of the company's webhook endpoints that takes this type, \
                    signed per Standard Webhooks: `webhook-id` (the same on every attempt), \
                    `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and the \
                    base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the endpoint's secret; \
                    two signatures, space-separated, during a secret rotation). Answer 2xx within \
                    15 s; anything else is retried for about a day, and `410 Gone` disables the \
                    endpoint. Messages may arrive out of order and, rarely, twice: order and \
                    de-duplicate by `id` (the event's sequence number) or `webhook-id`.",
                "tags": ["webhooks"],
                "parameters": [
                    { "name": "webhook-id", "in": "header", "required": true, "schema": { "type": "string" } },
                    { "name": "webhook-timestamp", "in": "header", "required": true, "schema": { "type": "integer" } },
                    { "name": "webhook-signature", "in": "header", "required": true, "schema": { "type": "string" } }
                ],
                "requestBody": {
                    "required": true,
                    "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
                },
                "responses": { "2XX": { "description": "Received" } }
            }
        })
    };
    serde_json::json!({
        "event": message("LiveEvent", "A live event (the same payload as the event streams)"),
        "test": message("WebhookTestMessage", "A test message (POST /api/webhook-endpoints/{endpointId}/test)"),
    })
}

/// Pretty JSON with a trailing newline, exactly as checked in.
pub fn spec_json() -> String {
    // The document's own order, `webhooks` last (a `serde_json::Value` would sort the keys).
    let mut json = spec().to_pretty_json().unwrap_or_else(|_| "{}".to_owned());
    let webhooks = serde_json::to_string_pretty(&webhooks()).unwrap_or_else(|_| "{}".to_owned());
    if let Some(end) = json.rfind('}') {
        json.truncate(end);
        let trimmed = json.trim_end().len();
        json.truncate(trimmed);
        json.push_str(",\n  \"webhooks\": ");
        json.push_str(&webhooks.replace('\n', "\n  "));
        json.push_str("\n}");
    }
    json.push('\n');
    json
}

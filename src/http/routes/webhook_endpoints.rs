//! The company's webhook endpoints: where its CRM backend receives every event, signed per
//! Standard Webhooks.
use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nullable;
use crate::{
    error::Result,
    http::{
        AppState,
        extract::{AdminPrincipal, ApiJson, ApiPath, ApiQuery},
    },
    pagination::PageParams,
    tenancy::Principal,
    webhooks::{
        self, AttemptView, EndpointInput, EndpointView, address, parse_description,
        parse_event_types,
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_endpoint, list_endpoints))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(send_test))
        .routes(routes!(list_deliveries))
        .routes(routes!(resend_delivery))
}

type Problem = crate::http::problem::Problem;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEndpointRequest {
    /// `https://…` on a public address (`http` and private addresses only with
    /// `WEBHOOK_ALLOW_INSECURE`, for development).
    #[schema(
        example = "https://crm.example.com/hooks/switchboard",
        max_length = 2000
    )]
    url: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    description: Option<String>,
    /// The event types to receive; omitted or `null` for all.
    #[serde(default)]
    event_types: Option<Vec<String>>,
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateEndpointRequest {
    #[schema(max_length = 2000)]
    url: Option<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// `null` for all event types.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    event_types: Option<Option<Vec<String>>>,
    /// `true` also makes a disabled endpoint healthy again.
    enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    endpoint: EndpointView,
    /// The signing secret (`whsec_…`): shown now and never again. Verify `webhook-signature`
    /// with it.
    secret: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct EndpointPath {
    endpoint_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    endpoint_id: Uuid,
    delivery_id: Uuid,
}

/// In sandbox mode, an endpoint pointing at the sandbox's webhook inbox gives it the secret,
/// so the inbox can show whether each message's signature verifies.
fn tell_sandbox_inbox(state: &AppState, url: &str, secret: &str) {
    if let Some(sandbox) = &state.sandbox
        && let Some(name) =
            crate::sandbox::webhooks::Inbox::name_of(&state.settings.public_url, url)
    {
        sandbox.webhooks.remember(&name, secret);
    }
}

fn input(
    state: &AppState,
    url: Option<&str>,
    description: Option<&str>,
    event_types: Option<Option<&[String]>>,
    enabled: Option<bool>,
) -> Result<EndpointInput> {
    Ok(EndpointInput {
        url: url
            .map(|u| address::parse("url", u, state.settings.webhook_allow_insecure))
            .transpose()?,
        description: description.map(parse_description).transpose()?,
        event_types: event_types
            .map(|types| types.map(parse_event_types).transpose())
            .transpose()?,
        enabled,
    })
}

/// Add a webhook endpoint (admin)
///
/// Every event of the company (or those of `eventTypes`) is posted to `url` as JSON, in the
/// live-event shape, with Standard Webhooks' `webhook-id`, `webhook-timestamp` and
/// `webhook-signature` headers. The answer carries the signing secret, shown this once. At most
/// 20 endpoints per company.
#[utoipa::path(post, path = "/webhook-endpoints", tag = "webhooks",
    request_body = CreateEndpointRequest,
    responses(
        (status = 201, description = "Created, with its secret", body = EndpointWithSecret),
        (status = 403, description = "`forbidden`: needs admin or owner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`webhook_endpoint_limit`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `webhook_url_not_public`, naming `url`, `description` or `eventTypes[i]`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_endpoint(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiJson(body): ApiJson<CreateEndpointRequest>,
) -> Result<(StatusCode, Json<EndpointWithSecret>)> {
    let mut input = input(
        &state,
        Some(&body.url),
        body.description.as_deref(),
        body.event_types.as_deref().map(Some),
        body.enabled,
    )?;
    let url = input
        .url
        .take()
        .ok_or_else(|| crate::error::Error::invalid("url", "is required"))?;
    let (endpoint, secret) = webhooks::create(&state, &principal, url, input).await?;
    tell_sandbox_inbox(&state, &endpoint.url, secret.expose());
    Ok((
        StatusCode::CREATED,
        Json(EndpointWithSecret {
            endpoint: endpoint.into(),
            secret: secret.expose().clone(),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointList {
    items: Vec<EndpointView>,
    /// Always `null`: a company has at most 20 endpoints.
    next_cursor: Option<String>,
}

/// The company's webhook endpoints
#[utoipa::path(get, path = "/webhook-endpoints", tag = "webhooks",
    responses((status = 200, description = "Every endpoint, oldest first", body = EndpointList)))]
async fn list_endpoints(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<EndpointList>> {
    let rows = webhooks::list(&state.db, principal.company_id).await?;
    Ok(Json(EndpointList {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// One webhook endpoint
#[utoipa::path(get, path = "/webhook-endpoints/{endpointId}", tag = "webhooks",
    params(EndpointPath),
    responses(
        (status = 200, description = "The endpoint", body = EndpointView),
        (status = 404, description = "`webhook_endpoint_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<EndpointPath>,
) -> Result<Json<EndpointView>> {
    let row = webhooks::get(&state.db, principal.company_id, path.endpoint_id).await?;
    Ok(Json(row.into()))
}

/// Change a webhook endpoint (admin)
///
/// `enabled: true` turns a disabled endpoint back on (healthy again); deliveries that died
/// while it was off can be resent from its delivery log.
#[utoipa::path(patch, path = "/webhook-endpoints/{endpointId}", tag = "webhooks",
    params(EndpointPath),
    request_body = UpdateEndpointRequest,
    responses(
        (status = 200, description = "The endpoint", body = EndpointView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_endpoint_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `webhook_url_not_public`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_endpoint(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<EndpointPath>,
    ApiJson(body): ApiJson<UpdateEndpointRequest>,
) -> Result<Json<EndpointView>> {
    let input = input(
        &state,
        body.url.as_deref(),
        body.description.as_deref(),
        body.event_types.as_ref().map(|t| t.as_deref()),
        body.enabled,
    )?;
    let row = webhooks::update(&state, &principal, path.endpoint_id, input).await?;
    Ok(Json(row.into()))
}

/// Remove a webhook endpoint (admin)
#[utoipa::path(delete, path = "/webhook-endpoints/{endpointId}", tag = "webhooks",
    params(EndpointPath),
    responses(
        (status = 204, description = "Removed, with its delivery log"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_endpoint_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_endpoint(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<EndpointPath>,
) -> Result<StatusCode> {
    webhooks::delete(&state, &principal, path.endpoint_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate an endpoint's signing secret (admin)
///
/// Answers the new secret. For 24 hours every message carries two signatures, one per secret,
/// so a receiver verifies with either while it rolls over.
#[utoipa::path(post, path = "/webhook-endpoints/{endpointId}/rotate-secret", tag = "webhooks",
    params(EndpointPath),
    responses(
        (status = 200, description = "The endpoint with its new secret", body = EndpointWithSecret),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_endpoint_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rotate_secret(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<EndpointPath>,
) -> Result<Json<EndpointWithSecret>> {
    let (endpoint, secret) = webhooks::rotate_secret(&state, &principal, path.endpoint_id).await?;
    Ok(Json(EndpointWithSecret {
        endpoint: endpoint.into(),
        secret: secret.expose().clone(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    /// The `webhook-id` of the message sent.
    message_id: String,
}

/// Send a test event (admin)
///
/// Queues a `webhook.test` message to the endpoint; its attempt appears in the delivery log.
#[utoipa::path(post, path = "/webhook-endpoints/{endpointId}/test", tag = "webhooks",
    params(EndpointPath),
    responses(
        (status = 202, description = "Queued", body = Queued),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_endpoint_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`webhook_endpoint_disabled`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn send_test(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<EndpointPath>,
) -> Result<(StatusCode, Json<Queued>)> {
    let message_id = webhooks::deliver::send_test(&state, &principal, path.endpoint_id).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { message_id })))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptList {
    items: Vec<AttemptView>,
    next_cursor: Option<String>,
}

/// An endpoint's delivery log, newest first
///
/// Every attempt: status code, duration, the start of the answer, and when the next attempt
/// runs.
#[utoipa::path(get, path = "/webhook-endpoints/{endpointId}/deliveries", tag = "webhooks",
    params(EndpointPath, PageParams),
    responses(
        (status = 200, description = "A page of attempts", body = AttemptList),
        (status = 404, description = "`webhook_endpoint_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_deliveries(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<EndpointPath>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<AttemptList>> {
    let (limit, cursor) = params.parse()?;
    let page = webhooks::attempts(
        &state.db,
        principal.company_id,
        path.endpoint_id,
        limit,
        cursor,
    )
    .await?;
    Ok(Json(AttemptList {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resent {
    /// The new delivery's job (see `GET /api/jobs`).
    job_id: Uuid,
}

/// Send a delivery's message again (admin)
///
/// The same message (same `webhook-id`, so a receiver that got it already can tell) as a new
/// delivery, retried like any other.
#[utoipa::path(post, path = "/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/resend", tag = "webhooks",
    params(DeliveryPath),
    responses(
        (status = 202, description = "Queued", body = Resent),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_endpoint_not_found` or `webhook_delivery_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`webhook_endpoint_disabled`, `webhook_delivery_gone`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn resend_delivery(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<DeliveryPath>,
) -> Result<(StatusCode, Json<Resent>)> {
    let job_id =
        webhooks::deliver::resend(&state, &principal, path.endpoint_id, path.delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(Resent { job_id })))
}

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::LeadPath;
use crate::ids::LeadId;
use crate::{
    entities::job,
    error::{Error, Result},
    http::AppState,
    http::extract::{AdminPrincipal, ApiJson, ApiPath, ApiQuery},
    jobs,
    messages::{self, Content, IdempotencyKey, MessageView},
    pagination::PageParams,
    tenancy::Principal,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(lead_messages))
        .routes(routes!(list_jobs))
        .routes(routes!(retry_job))
        .routes(routes!(retry_message))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendMessageRequest {
    #[schema(value_type = Uuid)]
    lead_id: LeadId,
    /// 1 to 2,000 characters; line breaks allowed.
    #[schema(min_length = 1, max_length = 2000)]
    content: String,
}

/// Send a message to a lead
///
/// Stores the message and its delivery in one transaction and delivers it at once; the answer
/// says `sent`, or `queued` when Discord could not take it yet (it is retried with backoff and
/// ends `sent` or `failed`). With an `Idempotency-Key`, repeating the request answers the first
/// message instead of sending again.
#[utoipa::path(post, path = "/discord/send-message", tag = "messages",
    request_body = SendMessageRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; the same key with the same body answers the original message")),
    responses(
        (status = 201, description = "Stored; `state` is `sent`, `queued` or `failed`", body = MessageView),
        (status = 404, description = "`lead_not_found`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`lead_has_no_channel`, `channel_archived`, `idempotency_request_in_flight`",
            body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn send_message(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> Result<(StatusCode, Json<MessageView>)> {
    let content = Content::parse(&body.content)?;
    let key = match headers.get("idempotency-key") {
        Some(value) => Some(IdempotencyKey::parse(value.to_str().unwrap_or("\u{0}"))?),
        None => None,
    };
    let message = messages::send(&state, &principal, body.lead_id, content, key).await?;
    Ok((StatusCode::CREATED, Json(message.into())))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageList {
    items: Vec<MessageView>,
    next_cursor: Option<String>,
}

/// A lead's conversation, newest first
#[utoipa::path(get, path = "/leads/{leadId}/messages", tag = "messages",
    params(LeadPath, PageParams),
    responses((status = 200, description = "A page of messages", body = MessageList)))]
async fn lead_messages(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<MessageList>> {
    let (limit, cursor) = params.parse()?;
    let page =
        messages::list_for_lead(&state.db, principal.company_id, path.lead_id, limit, cursor)
            .await?;
    Ok(Json(MessageList {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    id: Uuid,
    kind: jobs::JobKind,
    state: jobs::JobState,
    attempts: i32,
    run_at: DateTime<Utc>,
    last_error: Option<String>,
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<job::Model> for JobView {
    fn from(j: job::Model) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            state: j.state,
            attempts: j.attempts,
            run_at: j.run_at,
            last_error: j.last_error,
            payload: j.payload,
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobList {
    items: Vec<JobView>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobListParams {
    /// `pending`, `running`, `done` or `dead`.
    #[param(pattern = "^(pending|running|done|dead)$")]
    state: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

/// The company's background jobs, newest first (admin)
#[utoipa::path(get, path = "/jobs", tag = "operations",
    params(JobListParams),
    responses(
        (status = 200, description = "A page of jobs", body = JobList),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn list_jobs(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiQuery(params): ApiQuery<JobListParams>,
) -> Result<Json<JobList>> {
    let wanted = params
        .state
        .map(|s| {
            <jobs::JobState as sea_orm::ActiveEnum>::try_from_value(&s)
                .map_err(|_| Error::invalid("state", "must be pending, running, done or dead"))
        })
        .transpose()?;
    let (limit, cursor) = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    }
    .parse()?;
    let page = jobs::list(&state.db, principal.company_id, wanted, limit, cursor).await?;
    Ok(Json(JobList {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct JobPath {
    job_id: Uuid,
}

/// Retry a dead job (admin)
///
/// The job runs again from its first attempt; a failed message it delivers is queued again.
#[utoipa::path(post, path = "/jobs/{jobId}/retry", tag = "operations",
    params(JobPath),
    responses(
        (status = 200, description = "Pending again", body = JobView),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`job_not_dead`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn retry_job(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<JobPath>,
) -> Result<Json<JobView>> {
    let job = messages::retry_job(&state, principal.company_id, path.job_id).await?;
    Ok(Json(job.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct MessagePath {
    message_id: Uuid,
}

/// Retry a failed message
///
/// Queues a failed outbound message for delivery again: the same message (same id and Discord
/// nonce, so it is never posted twice), its state back to `queued`, then `sent` or `failed`
/// again as the live streams tell (`message.updated`).
#[utoipa::path(post, path = "/messages/{messageId}/retry", tag = "messages",
    params(MessagePath),
    responses(
        (status = 202, description = "Queued again", body = MessageView),
        (status = 404, description = "`message_not_found`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`message_not_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn retry_message(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<MessagePath>,
) -> Result<(StatusCode, Json<MessageView>)> {
    let message = messages::retry_message(&state, principal.company_id, path.message_id).await?;
    Ok((StatusCode::ACCEPTED, Json(message.into())))
}

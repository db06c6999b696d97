use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::LeadPath;
use crate::ids::LeadId;
use crate::{
    channels::{self, LeadChannelView, Opened},
    error::{Error, ErrorKind, Result},
    http::AppState,
    http::extract::{ApiJson, ApiPath, ApiQuery},
    pagination::PageParams,
    tenancy::Principal,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_channel, list_channels))
        .routes(routes!(get_channel))
        .routes(routes!(archive_channel))
        .routes(routes!(retry_channel))
}

fn opened_response(opened: Opened) -> (StatusCode, Json<LeadChannelView>) {
    match opened {
        Opened::Created(c) => (StatusCode::CREATED, Json(c.into())),
        Opened::Existing(c) => (StatusCode::OK, Json(c.into())),
        Opened::Pending(p) => (StatusCode::ACCEPTED, Json(p.into())),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenChannelRequest {
    #[schema(value_type = Uuid)]
    lead_id: LeadId,
}

/// Open a lead's private Discord channel
///
/// Creates one private text channel for the lead in the company's Discord server (everyone
/// else denied; the lead allowed and welcomed when their Discord user id is known), or answers
/// the channel the lead already has (200). Creation is a background job: creations in a server
/// run one at a time at Discord's pace (10 per 10 s), placed in "Leads N" categories of 50. The
/// request waits a few seconds for it: 201 when the channel is ready, otherwise 202 with the
/// channel in state `provisioning` (or `failed` with `lastError`); `channel.created` follows on
/// the event streams. Any number of concurrent calls make one channel per lead.
#[utoipa::path(post, path = "/discord/channels", tag = "channels",
    request_body = OpenChannelRequest,
    responses(
        (status = 201, description = "Created", body = LeadChannelView),
        (status = 200, description = "The lead already had this channel", body = LeadChannelView),
        (status = 202, description = "Being made (`provisioning`), or its making failed (`failed`)", body = LeadChannelView),
        (status = 404, description = "`lead_not_found`: no such lead in your company",
            body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`discord_not_connected`",
            body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn open_channel(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<OpenChannelRequest>,
) -> Result<(StatusCode, Json<LeadChannelView>)> {
    let opened = channels::open(&state, &principal, body.lead_id)
        .await
        .map_err(|err| {
            // The lead named in the body, not the URL: say which field.
            if err.code == "lead_not_found" {
                let mut e = Error::new(ErrorKind::NotFound, "lead_not_found", "No such lead.");
                e.errors.push(crate::error::FieldError {
                    field: "leadId".into(),
                    message: "no such lead".into(),
                });
                e
            } else {
                err
            }
        })?;
    Ok(opened_response(opened))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChannelListParams {
    /// Only active (`true`) or archived (`false`) channels.
    active: Option<bool>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadChannelList {
    items: Vec<LeadChannelView>,
    next_cursor: Option<String>,
}

/// The company's lead channels, newest first
#[utoipa::path(get, path = "/discord/channels", tag = "channels",
    params(ChannelListParams),
    responses((status = 200, description = "A page of channels", body = LeadChannelList)))]
async fn list_channels(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ChannelListParams>,
) -> Result<Json<LeadChannelList>> {
    let (limit, cursor) = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    }
    .parse()?;
    let page = channels::list(
        &state.db,
        principal.company_id,
        params.active,
        limit,
        cursor,
    )
    .await?;
    Ok(Json(LeadChannelList {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A lead's channel
///
/// The channel, or its provisioning while it is being made (`provisioning`) or after making
/// it failed (`failed`, with `lastError`).
#[utoipa::path(get, path = "/discord/channels/{leadId}", tag = "channels",
    params(LeadPath),
    responses(
        (status = 200, description = "The channel", body = LeadChannelView),
        (status = 404, description = "`lead_not_found`, `channel_not_found`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn get_channel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
) -> Result<Json<LeadChannelView>> {
    Ok(Json(
        match channels::view(&state.db, principal.company_id, path.lead_id).await? {
            channels::View::Channel(c) => c.into(),
            channels::View::Provisioning(p) => p.into(),
        },
    ))
}

/// Retry a lead channel that failed
///
/// Queues the channel's making again, and waits a few seconds for it as opening does: 201
/// when ready, 202 while it is being made.
#[utoipa::path(post, path = "/discord/channels/{leadId}/retry", tag = "channels",
    params(LeadPath),
    responses(
        (status = 201, description = "Created", body = LeadChannelView),
        (status = 200, description = "The lead already had this channel", body = LeadChannelView),
        (status = 202, description = "Being made again", body = LeadChannelView),
        (status = 404, description = "`lead_not_found`, `channel_not_found`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`channel_not_failed`, `discord_not_connected`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn retry_channel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
) -> Result<(StatusCode, Json<LeadChannelView>)> {
    let opened = channels::retry(&state, &principal, path.lead_id).await?;
    Ok(opened_response(opened))
}

/// Archive a lead's channel
///
/// The lead keeps read access to the history but can no longer write there; nothing is
/// deleted. Archiving twice is fine.
#[utoipa::path(post, path = "/discord/channels/{leadId}/archive", tag = "channels",
    params(LeadPath),
    responses(
        (status = 200, description = "Archived", body = LeadChannelView),
        (status = 503, description = "`discord_unavailable`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn archive_channel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
) -> Result<Json<LeadChannelView>> {
    Ok(Json(
        channels::archive(&state, &principal, path.lead_id)
            .await?
            .into(),
    ))
}

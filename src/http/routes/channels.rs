use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    app::AppState,
    channels,
    entities::lead_channel,
    error::{Error, ErrorKind, Result},
    http::extract::{ApiJson, ApiPath, ApiQuery},
    pagination::PageParams,
    tenancy::Principal,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_channel, list_channels))
        .routes(routes!(get_channel))
        .routes(routes!(archive_channel))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadChannelView {
    lead_id: Uuid,
    /// Discord ids are strings.
    channel_id: String,
    channel_name: String,
    guild_id: String,
    category_id: Option<String>,
    is_active: bool,
    discord_user_id: Option<String>,
    message_count: i32,
    last_message_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<lead_channel::Model> for LeadChannelView {
    fn from(c: lead_channel::Model) -> Self {
        Self {
            lead_id: c.lead_id,
            channel_id: c.channel_id,
            channel_name: c.channel_name,
            guild_id: c.guild_id,
            category_id: c.category_id,
            is_active: c.is_active,
            discord_user_id: c.discord_user_id,
            message_count: c.message_count,
            last_message_at: c.last_message_at,
            created_at: c.channel_created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenChannelRequest {
    lead_id: Uuid,
}

/// Open a lead's private Discord channel
///
/// Creates one private text channel for the lead in the company's Discord server (everyone
/// else denied; the lead allowed and welcomed when their Discord user id is known), or answers
/// the channel the lead already has (200). Concurrent calls create one channel. Creations in a
/// server are queued at Discord's pace (10 per 10 s) and placed in "Leads N" categories of 50.
#[utoipa::path(post, path = "/discord/channels", tag = "channels",
    request_body = OpenChannelRequest,
    responses(
        (status = 201, description = "Created", body = LeadChannelView),
        (status = 200, description = "The lead already had this channel", body = LeadChannelView),
        (status = 404, description = "`lead_not_found`: no such lead in your company",
            body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`discord_not_connected`, `guild_channel_limit`, `discord_missing_permissions`",
            body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`discord_unavailable`, `channel_queue_full`: try again after `Retry-After`",
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
    let status = if opened.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(opened.channel.into())))
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct LeadPath {
    lead_id: Uuid,
}

/// A lead's channel
#[utoipa::path(get, path = "/discord/channels/{leadId}", tag = "channels",
    params(LeadPath),
    responses((status = 200, description = "The channel", body = LeadChannelView)))]
async fn get_channel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
) -> Result<Json<LeadChannelView>> {
    channels::get(&state.db, principal.company_id, path.lead_id)
        .await?
        .map(|c| Json(c.into()))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "channel_not_found",
                "This lead has no channel.",
            )
        })
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

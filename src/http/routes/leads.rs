use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{LeadPath, nullable};
use crate::ids::UserId;
use crate::{
    error::Result,
    http::AppState,
    http::extract::{ApiJson, ApiPath, ApiQuery},
    leads::{self, LeadFilter, LeadSort, LeadStatus, LeadUpdate, LeadView, NewLead, Search},
    pagination::PageParams,
    tenancy::Principal,
    types::{DiscordUsername, Email, PersonName, Snowflake},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_lead, list_leads))
        .routes(routes!(get_lead, update_lead, delete_lead))
        .routes(routes!(mark_read))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLeadRequest {
    #[schema(
        example = "Grace Hopper",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    name: String,
    #[schema(example = "grace@example.com", format = Email, min_length = 3, max_length = 254)]
    #[serde(default)]
    email: Option<String>,
    #[schema(example = "175928847299117063", pattern = "^[1-9][0-9]{0,19}$")]
    #[serde(default)]
    discord_user_id: Option<String>,
    #[schema(example = "grace.hopper", pattern = "^[A-Za-z0-9_.]{2,32}$")]
    #[serde(default)]
    discord_username: Option<String>,
    /// A member of your company; defaults to you (none for API keys).
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    owner_user_id: Option<UserId>,
}

fn parse_opt<T>(value: Option<&str>, parse: impl FnOnce(&str) -> Result<T>) -> Result<Option<T>> {
    value.map(parse).transpose()
}

/// Create a lead
#[utoipa::path(post, path = "/leads", tag = "leads",
    request_body = CreateLeadRequest,
    responses((status = 201, description = "Created", body = LeadView)))]
async fn create_lead(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateLeadRequest>,
) -> Result<(StatusCode, Json<LeadView>)> {
    let new = NewLead {
        name: PersonName::parse("name", &body.name)?,
        email: parse_opt(body.email.as_deref(), |v| Email::parse("email", v))?,
        discord_user_id: parse_opt(body.discord_user_id.as_deref(), |v| {
            Snowflake::parse("discordUserId", v)
        })?,
        discord_username: parse_opt(body.discord_username.as_deref(), |v| {
            DiscordUsername::parse("discordUsername", v)
        })?,
        owner_user_id: body.owner_user_id.or(principal.user_id),
    };
    let lead = leads::create(&state.db, principal.company_id, new).await?;
    tracing::info!(lead.id = %lead.id, "lead created");
    Ok((StatusCode::CREATED, Json(lead.try_into()?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeadListParams {
    /// Only leads with this status.
    status: Option<LeadStatus>,
    /// Only leads owned by this member.
    #[param(value_type = Option<Uuid>)]
    owner_user_id: Option<UserId>,
    /// Only leads whose name, email or Discord username contains this (ignoring case; 1–100
    /// characters).
    #[param(max_length = 100)]
    q: Option<String>,
    /// `created` (newest lead first, the default) or `recent` (most recent message first: the
    /// inbox's order).
    #[param(inline)]
    sort: Option<LeadSort>,
    /// How many (1–100, default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// `nextCursor` from the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadList {
    items: Vec<LeadView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// List leads
///
/// Newest lead first, or with `sort=recent` the conversation with the most recent message
/// first. A cursor belongs to the order it came from.
#[utoipa::path(get, path = "/leads", tag = "leads",
    params(LeadListParams),
    responses((status = 200, description = "A page of leads", body = LeadList)))]
async fn list_leads(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<LeadListParams>,
) -> Result<Json<LeadList>> {
    let (limit, _) = PageParams {
        limit: params.limit,
        cursor: None,
    }
    .parse()?;
    let filter = LeadFilter {
        status: params.status,
        owner_user_id: params.owner_user_id,
        search: params
            .q
            .as_deref()
            .map(|q| Search::parse("q", q))
            .transpose()?
            .flatten(),
    };
    let page = leads::list(
        &state.db,
        principal.company_id,
        filter,
        params.sort.unwrap_or_default(),
        limit,
        params.cursor.as_deref(),
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(TryInto::try_into)
        .collect::<Result<_>>()?;
    Ok(Json(LeadList {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// Get a lead
#[utoipa::path(get, path = "/leads/{leadId}", tag = "leads",
    params(LeadPath),
    responses((status = 200, description = "The lead", body = LeadView)))]
async fn get_lead(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
) -> Result<Json<LeadView>> {
    Ok(Json(
        leads::get(&state.db, principal.company_id, path.lead_id)
            .await?
            .try_into()?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateLeadRequest {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    #[serde(default)]
    name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Email, min_length = 3, max_length = 254)]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    discord_user_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    discord_username: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    owner_user_id: Option<Option<UserId>>,
    #[serde(default)]
    status: Option<LeadStatus>,
}

/// Update a lead
///
/// Fields left out are unchanged; `null` clears a nullable field.
#[utoipa::path(patch, path = "/leads/{leadId}", tag = "leads",
    params(LeadPath), request_body = UpdateLeadRequest,
    responses((status = 200, description = "Updated", body = LeadView)))]
async fn update_lead(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
    ApiJson(body): ApiJson<UpdateLeadRequest>,
) -> Result<Json<LeadView>> {
    let update = LeadUpdate {
        name: parse_opt(body.name.as_deref(), |v| PersonName::parse("name", v))?,
        email: body
            .email
            .map(|v| parse_opt(v.as_deref(), |v| Email::parse("email", v)))
            .transpose()?,
        discord_user_id: body
            .discord_user_id
            .map(|v| parse_opt(v.as_deref(), |v| Snowflake::parse("discordUserId", v)))
            .transpose()?,
        discord_username: body
            .discord_username
            .map(|v| {
                parse_opt(v.as_deref(), |v| {
                    DiscordUsername::parse("discordUsername", v)
                })
            })
            .transpose()?,
        owner_user_id: body.owner_user_id,
        status: body.status,
    };
    let lead = leads::edit(&state, principal.company_id, path.lead_id, update).await?;
    Ok(Json(lead.try_into()?))
}

/// Delete a lead
///
/// Erases the lead: their messages and live events are deleted with them. Their Discord channel
/// is archived: at Discord their permission overwrite is removed (they no longer see it) and
/// the channel loses their name; replies posted there are no longer routed
/// (`channel_archived`). The channel and its history stay in the server for its admins.
#[utoipa::path(delete, path = "/leads/{leadId}", tag = "leads",
    params(LeadPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`lead_not_found`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn delete_lead(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
) -> Result<StatusCode> {
    crate::channels::delete_lead(&state, &principal, path.lead_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark a conversation read
///
/// Nothing in the lead's conversation is unread any more (`unreadCount` 0), for every teammate;
/// the live streams get `lead.updated` when that changed something. Answers the lead.
#[utoipa::path(post, path = "/leads/{leadId}/read", tag = "leads",
    params(LeadPath),
    responses(
        (status = 200, description = "The lead, read", body = LeadView),
        (status = 404, description = "`lead_not_found`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn mark_read(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
) -> Result<Json<LeadView>> {
    let lead = leads::mark_read(&state, principal.company_id, path.lead_id).await?;
    Ok(Json(lead.try_into()?))
}

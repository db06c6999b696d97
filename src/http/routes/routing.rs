//! `GET /api/routing-events`: why an inbound message did or did not arrive.
use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::ids::LeadId;
use crate::{
    entities::routing_event,
    error::{Error, Result},
    http::AppState,
    http::extract::{AdminPrincipal, ApiQuery},
    pagination::{Page, PageParams},
    routing::{RoutingDecision, RoutingSource},
    types::Snowflake,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_routing_events))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingEventView {
    id: Uuid,
    /// `MESSAGE_CREATE`, `CHANNEL_DELETE` or `GUILD_DELETE`.
    event_type: String,
    source: RoutingSource,
    #[schema(value_type = Option<String>)]
    guild_id: Option<Snowflake>,
    #[schema(value_type = Option<String>)]
    channel_id: Option<Snowflake>,
    #[schema(value_type = Option<String>)]
    discord_message_id: Option<Snowflake>,
    #[schema(value_type = Option<String>)]
    author_id: Option<Snowflake>,
    #[schema(value_type = Option<Uuid>)]
    lead_id: Option<LeadId>,
    decision: RoutingDecision,
    /// Why: `unknown_channel`, `tenant_mismatch`, `own_bot`, `channel_archived`, … (for
    /// platform events, what was done: `channel_archived`, `guild_unavailable`, `bot_removed`).
    reason: Option<String>,
    /// The lookups made: guild → company → channel → lead. Only this company's ids appear; a
    /// channel of another company shows as `channelOwner: "another_company"`.
    #[schema(value_type = Object)]
    path: serde_json::Value,
    at: DateTime<Utc>,
}

impl From<routing_event::Model> for RoutingEventView {
    fn from(e: routing_event::Model) -> Self {
        Self {
            id: e.id,
            event_type: e.event_type,
            source: e.source,
            guild_id: e.guild_id,
            channel_id: e.channel_id,
            discord_message_id: e.discord_message_id,
            author_id: e.author_id,
            lead_id: e.lead_id,
            decision: e.decision,
            reason: e.reason,
            path: crate::routing::own_facts(e.path, e.company_id),
            at: e.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingEventPage {
    items: Vec<RoutingEventView>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RoutingEventParams {
    /// Only events in this Discord channel.
    #[param(pattern = "^[0-9]{1,20}$")]
    channel_id: Option<String>,
    /// `routed`, `rejected` or `ignored`.
    #[param(pattern = "^(routed|rejected|ignored)$")]
    decision: Option<String>,
    /// Only events at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Only events before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

/// Inbound routing decisions, newest first (admin)
///
/// Every message the gateway or catch-up saw in the company's server: routed to a lead, or
/// rejected or ignored with the reason. The answer to "why didn't this message arrive?".
#[utoipa::path(get, path = "/routing-events", tag = "operations",
    params(RoutingEventParams),
    responses(
        (status = 200, description = "A page of routing events", body = RoutingEventPage),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn list_routing_events(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiQuery(params): ApiQuery<RoutingEventParams>,
) -> Result<Json<RoutingEventPage>> {
    let (limit, cursor) = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    }
    .parse()?;
    let mut query = routing_event::Entity::find()
        .filter(routing_event::Column::CompanyId.eq(principal.company_id));
    if let Some(channel) = params.channel_id {
        if channel.is_empty() || channel.len() > 20 || !channel.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Error::invalid("channelId", "must be a Discord channel id"));
        }
        query = query.filter(routing_event::Column::ChannelId.eq(channel));
    }
    if let Some(wanted) = params.decision {
        let wanted = <RoutingDecision as sea_orm::ActiveEnum>::try_from_value(&wanted)
            .map_err(|_| Error::invalid("decision", "must be `routed`, `rejected` or `ignored`"))?;
        query = query.filter(routing_event::Column::Decision.eq(wanted));
    }
    if let Some(since) = params.since {
        query = query.filter(routing_event::Column::CreatedAt.gte(since));
    }
    if let Some(until) = params.until {
        query = query.filter(routing_event::Column::CreatedAt.lt(until));
    }
    if let Some(cursor) = cursor {
        query = query.filter(routing_event::Column::Id.lt(cursor.0));
    }
    let rows = query
        .order_by_desc(routing_event::Column::Id)
        .limit(limit + 1)
        .all(&state.db)
        .await?;
    let page = Page::from_rows(rows, limit, |e| e.id);
    Ok(Json(RoutingEventPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

//! What the web app offers in sandbox mode so one person can play every side of a conversation:
//! the sandbox Discord server's members (to pick a lead from, or to add one), replying as a
//! lead, and closing a linked issue on the sandbox GitHub. Each acts through the simulators as
//! a person would in Discord's or GitHub's own client, so what follows travels the product's
//! real paths: the reply arrives over the gateway and is routed like any other, the closed
//! issue's webhook is verified and applied like any other. Outside sandbox mode every route
//! here is `404 sandbox_only`.
use std::sync::Arc;

use axum::{Json, extract::State, http::StatusCode};
use sea_orm::{ColumnTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::LeadPath;
use crate::{
    channels,
    entities::lead_link,
    error::{Error, ErrorKind, Result},
    github::links,
    http::AppState,
    http::extract::{ApiJson, ApiPath},
    integrations::store,
    leads,
    messages::Content,
    sandbox::{self, Sandbox},
    tenancy::Principal,
    types::Snowflake,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sandbox_members, add_sandbox_member))
        .routes(routes!(reply_as_lead))
        .routes(routes!(close_link))
}

fn simulators(state: &AppState) -> Result<&Arc<Sandbox>> {
    state.sandbox.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            "sandbox_only",
            "This exists only in sandbox mode (no DISCORD_BOT_TOKEN configured).",
        )
    })
}

/// The Discord server the company connected.
async fn company_guild(state: &AppState, principal: &Principal) -> Result<u64> {
    store::connection_for(&state.db, principal.company_id)
        .await?
        .filter(|c| c.bot_invited)
        .map(|c| c.guild_id.get())
        .ok_or_else(|| {
            Error::conflict(
                "discord_not_connected",
                "Connect the company's Discord server first (Settings → Integrations).",
            )
        })
}

fn refused(reason: String) -> Error {
    Error::conflict("sandbox_refused", reason)
}

/// A member of the sandbox Discord server.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SandboxMember {
    /// Their Discord user id: what a lead's `discordUserId` takes.
    id: String,
    username: String,
    /// The Switchboard bot itself.
    bot: bool,
}

impl From<sandbox::discord::Member> for SandboxMember {
    fn from(m: sandbox::discord::Member) -> Self {
        Self {
            id: m.id.to_string(),
            username: m.username,
            bot: m.bot,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxMemberList {
    items: Vec<SandboxMember>,
}

/// The sandbox Discord server's members (sandbox mode)
///
/// The members of the company's connected server in the Discord simulator, in the order they
/// joined: the people a lead can be. Answers `409 discord_not_connected` before Discord is
/// connected.
#[utoipa::path(get, path = "/sandbox/discord/members", tag = "sandbox",
    responses(
        (status = 200, description = "The server's members", body = SandboxMemberList),
        (status = 404, description = "`sandbox_only`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`discord_not_connected`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn list_sandbox_members(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<SandboxMemberList>> {
    let sim = simulators(&state)?;
    let guild = company_guild(&state, &principal).await?;
    let members = sandbox::discord::members(sim, guild)
        .ok_or_else(|| refused("The connected server is not in the Discord simulator.".into()))?;
    Ok(Json(SandboxMemberList {
        items: members.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSandboxMember {
    /// 2 to 32 characters, as Discord's usernames.
    #[schema(min_length = 2, max_length = 32, example = "grace.hopper")]
    username: String,
}

/// Add a member to the sandbox Discord server (sandbox mode)
///
/// Someone joins the company's server in the Discord simulator, as a lead would by accepting
/// the server's invite. Their id can then be a lead's `discordUserId`.
#[utoipa::path(post, path = "/sandbox/discord/members", tag = "sandbox",
    request_body = NewSandboxMember,
    responses(
        (status = 201, description = "Joined", body = SandboxMember),
        (status = 404, description = "`sandbox_only`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`discord_not_connected`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (`username`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn add_sandbox_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<NewSandboxMember>,
) -> Result<(StatusCode, Json<SandboxMember>)> {
    let sim = simulators(&state)?;
    let username = body.username.trim();
    if !(2..=32).contains(&username.chars().count()) || username.chars().any(char::is_control) {
        return Err(Error::invalid("username", "must be 2 to 32 characters"));
    }
    let guild = company_guild(&state, &principal).await?;
    let member = sandbox::discord::join(sim, guild, username).map_err(refused)?;
    Ok((StatusCode::CREATED, Json(member.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SandboxReply {
    /// 1 to 2,000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    content: String,
}

/// Reply as the lead (sandbox mode)
///
/// The lead posts `content` in their channel from Discord's client, in the simulator. The reply
/// then reaches Switchboard over the gateway and is routed, stored and pushed live like any
/// other (`message.created`); this answers before that, when the simulator took the post.
/// `409 sandbox_refused` says why Discord would not let them post (not a member, cannot see
/// the channel, archived).
#[utoipa::path(post, path = "/sandbox/leads/{leadId}/reply", tag = "sandbox",
    params(LeadPath),
    request_body = SandboxReply,
    responses(
        (status = 202, description = "Posted in the simulator; the reply follows over the gateway"),
        (status = 404, description = "`lead_not_found`, `sandbox_only`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`lead_has_no_discord_user`, `lead_has_no_channel`, `sandbox_refused`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (`content`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn reply_as_lead(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
    ApiJson(body): ApiJson<SandboxReply>,
) -> Result<StatusCode> {
    let sim = simulators(&state)?;
    let lead = leads::get(&state.db, principal.company_id, path.lead_id).await?;
    Content::parse(&body.content)?;
    let author = lead.discord_user_id.map(Snowflake::get).ok_or_else(|| {
        Error::conflict(
            "lead_has_no_discord_user",
            "Set the lead's Discord user id first: replies come from their Discord account.",
        )
    })?;
    let channel = channels::get(&state.db, principal.company_id, lead.id)
        .await?
        .ok_or_else(|| {
            Error::conflict(
                "lead_has_no_channel",
                "Create the lead's Discord channel first.",
            )
        })?;
    sandbox::discord::post_as(sim, channel.channel_id.get(), author, &body.content)
        .map_err(refused)?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct LinkPath {
    link_id: Uuid,
}

/// Close a linked issue on GitHub (sandbox mode)
///
/// Closes the linked issue or pull request on the GitHub simulator, as someone on GitHub
/// would. GitHub's webhook then reaches Switchboard and is applied like any other: the link
/// turns `closed` and the lead is resolved when nothing linked is open (`link.updated`,
/// `lead.updated`). Closing a closed one changes nothing.
#[utoipa::path(post, path = "/sandbox/links/{linkId}/close", tag = "sandbox",
    params(LinkPath),
    responses(
        (status = 202, description = "Closed on the GitHub simulator; its webhook follows"),
        (status = 404, description = "`link_not_found`, `sandbox_only`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sandbox_refused`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn close_link(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LinkPath>,
) -> Result<StatusCode> {
    let sim = simulators(&state)?;
    let link = links::find_for(principal.company_id)
        .filter(lead_link::Column::Id.eq(path.link_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "link_not_found", "No such link."))?;
    let number = u64::try_from(link.number).unwrap_or_default();
    sandbox::github::close_issue(sim, &link.repository, number)
        .await
        .map_err(refused)?;
    Ok(StatusCode::ACCEPTED)
}

//! Guilds, the current user, leaving a guild, and roles.
use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get, patch, post},
};
use serde::Deserialize;
use serde_json::Value;

use super::{error, guild_json, role_json};
use crate::sandbox::Sandbox;

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/api/v10/guilds/{guild_id}", get(get_guild))
        .route("/api/v10/users/@me", get(current_user))
        .route("/api/v10/users/@me/guilds/{guild_id}", delete(leave_guild))
        .route("/servers/{guild_id}/roles", post(create_role))
        .route("/servers/{guild_id}/roles/{role_id}", patch(edit_role))
}

pub(super) async fn get_guild(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(guild_id): Path<String>,
) -> Result<Response, Response> {
    let sim = &sandbox.discord;
    let allowed = sim
        .bot_route(&headers, "guilds/{guild_id}", &guild_id)
        .await?;
    let response = {
        let state = sim.lock();
        match guild_id
            .parse::<u64>()
            .ok()
            .and_then(|id| state.guilds.get(&id))
        {
            None => error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
            Some(guild) if !guild.bot_member => {
                error(StatusCode::FORBIDDEN, 50001, "Missing Access")
            }
            Some(guild) => Json(guild_json(guild)).into_response(),
        }
    };
    Ok(allowed.apply(response))
}

/// The bot's own user.
pub(super) async fn current_user(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let sim = &sandbox.discord;
    let allowed = sim.bot_route(&headers, "users/@me", "").await?;
    Ok(allowed.apply(Json(sim.bot_user()).into_response()))
}

/// Leave Guild (`DELETE /users/@me/guilds/{guild.id}` in Discord's OpenAPI document): the bot
/// leaves; 204, then GUILD_DELETE without `unavailable`, as for a bot that was removed.
pub(super) async fn leave_guild(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(guild_id): Path<String>,
) -> Result<Response, Response> {
    let sim = &sandbox.discord;
    let allowed = sim
        .bot_route(&headers, "users/@me/guilds/{guild_id}:delete", "")
        .await?;
    let left = {
        let mut state = sim.lock();
        match guild_id
            .parse::<u64>()
            .ok()
            .and_then(|id| state.guilds.get_mut(&id))
        {
            // Discord answers Unknown Guild for a guild the bot is not in.
            Some(guild) if guild.bot_member => {
                guild.bot_member = false;
                Some(guild.id)
            }
            _ => None,
        }
    };
    let Some(id) = left else {
        return Err(allowed.apply(error(StatusCode::NOT_FOUND, 10004, "Unknown Guild")));
    };
    sim.announce_leave(id, false);
    Ok(allowed.apply(StatusCode::NO_CONTENT.into_response()))
}

#[derive(Deserialize)]
pub(super) struct RoleBody {
    name: Option<String>,
    permissions: Value,
}

/// A permission bit set as Discord takes it: a string (documentation) or a number (spec).
pub(super) fn permission_bits(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Sandbox control: a server admin adds a role.
pub(super) async fn create_role(
    State(sandbox): State<Arc<Sandbox>>,
    Path(guild_id): Path<String>,
    Json(body): Json<RoleBody>,
) -> Response {
    let Some(bits) = permission_bits(&body.permissions) else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    let name = body.name.unwrap_or_else(|| "new role".to_owned());
    match sandbox
        .discord
        .create_role(super::channels::id(&guild_id), &name, bits)
    {
        Some(role) => (StatusCode::CREATED, Json(role_json(&role))).into_response(),
        None => error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
    }
}

/// Sandbox control: a server admin edits a role's permissions (@everyone's id is the guild's;
/// the bot's role id is `botRoleId` in the server list).
pub(super) async fn edit_role(
    State(sandbox): State<Arc<Sandbox>>,
    Path((guild_id, role_id)): Path<(String, String)>,
    Json(body): Json<RoleBody>,
) -> Response {
    let Some(bits) = permission_bits(&body.permissions) else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    let (guild, role) = (
        super::channels::id(&guild_id),
        super::channels::id(&role_id),
    );
    if sandbox.discord.set_role_permissions(guild, role, bits) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, 10011, "Unknown Role")
    }
}

//! Guild members.
use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{
    channels::{admit, id},
    error,
    json::member_json,
    limits,
};
use crate::sandbox::Sandbox;

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new().route(
        "/api/v10/guilds/{guild_id}/members/{user_id}",
        get(get_member),
    )
}

pub(super) async fn get_member(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path((guild, user)): Path<(String, String)>,
) -> Result<Response, Response> {
    let guild = id(&guild);
    let allowed = admit(
        &sandbox,
        &headers,
        "guilds/{guild_id}/members",
        guild,
        limits::routes::DEFAULT,
        guild,
        0,
    )
    .await?;
    let member = sandbox
        .discord
        .channels
        .lock()
        .members
        .get(&(guild, id(&user)))
        .cloned();
    let member = member.ok_or_else(|| error(StatusCode::NOT_FOUND, 10007, "Unknown Member"))?;
    Ok(allowed.apply(Json(member_json(&member)).into_response()))
}

//! Channel messages: create (with nonces and `enforce_nonce`) and list.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    channels::{channel_call, id, json_body},
    error,
    json::{form_error, member_json, message_json, user_json},
    limits, permissions,
    state::{MAX_CONTENT_CHARS, SimMessage},
};
use crate::sandbox::Sandbox;

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new().route(
        "/api/v10/channels/{channel_id}/messages",
        get(list_messages).post(create_message),
    )
}

/// How long Discord remembers a nonce for `enforce_nonce`.
pub(super) const NONCE_WINDOW: Duration = Duration::from_secs(5 * 60);

/// MESSAGE_CREATE for a message just posted: the message object plus `guild_id` and the
/// author's partial `member` in a guild.
pub(crate) fn announce_message(sandbox: &Sandbox, message: &SimMessage, guild_id: Option<u64>) {
    let mut data = render_message(sandbox, message);
    let bot: u64 = sandbox.discord.bot_id().parse().unwrap_or(0);
    if let Some(guild) = guild_id {
        data["guild_id"] = json!(guild.to_string());
        let member = sandbox
            .discord
            .channels
            .lock()
            .members
            .get(&(guild, message.author_id))
            .map(member_json);
        if let Some(mut member) = member {
            if let Some(fields) = member.as_object_mut() {
                fields.remove("user");
            }
            data["member"] = member;
        }
    }
    sandbox
        .discord
        .gateway
        .dispatch_message(&super::gateway::MessageEvent {
            guild_id,
            data,
            by_bot: message.author_id == bot,
            mentions_bot: message.mentions.contains(&bot),
        });
}

pub(super) fn render_message(sandbox: &Sandbox, m: &SimMessage) -> Value {
    let state = sandbox.discord.channels.lock();
    let guild = state.channels.get(&m.channel_id).map_or(0, |c| c.guild_id);
    let user = |uid: u64| {
        if uid.to_string() == sandbox.discord.bot_id() {
            user_json(uid, "Switchboard", true)
        } else {
            // In a direct message there is no guild: any membership names the user.
            let name = state
                .members
                .get(&(guild, uid))
                .or_else(|| {
                    state
                        .members
                        .iter()
                        .find(|((_, u), _)| *u == uid)
                        .map(|(_, m)| m)
                })
                .map_or_else(|| format!("user{uid}"), |m| m.username.clone());
            user_json(uid, &name, false)
        }
    };
    message_json(
        m,
        user(m.author_id),
        m.mentions.iter().map(|u| user(*u)).collect(),
    )
}

pub(super) async fn create_message(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    // Create Message, "Limitations": "the current user must have the SEND_MESSAGES permission".
    let needed = permissions::VIEW_CHANNEL | permissions::SEND_MESSAGES;
    let (c, allowed, _) = channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}/messages",
        limits::routes::CREATE_MESSAGE,
        needed,
    )
    .await?;
    let body = json_body(&sandbox, "POST channels/{channel_id}/messages", &body)?;
    // A category holds channels, not messages (JSON error code 50008, "Cannot send messages in
    // a non-text channel", `topics/opcodes-and-status-codes`).
    if !c.is_text() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            50008,
            "Cannot send messages in a non-text channel",
        ));
    }
    let content = body
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if content.trim().is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        ));
    }
    if content.chars().count() > MAX_CONTENT_CHARS {
        return Err(form_error(
            "content",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 2000 or fewer in length.",
        ));
    }
    let nonce = body.get("nonce").filter(|n| !n.is_null()).cloned();
    let nonce_key = nonce
        .as_ref()
        .map(|n| n.as_str().map_or_else(|| n.to_string(), str::to_owned));
    if nonce_key.as_ref().is_some_and(|n| n.chars().count() > 25) {
        return Err(form_error(
            "nonce",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        ));
    }
    let enforce = body
        .get("enforce_nonce")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if enforce && let Some(key) = &nonce_key {
        let existing = {
            let mut state = sandbox.discord.channels.lock();
            state
                .nonces
                .retain(|_, (_, at)| at.elapsed() < NONCE_WINDOW);
            state.nonces.get(&(c.id, key.clone())).map(|(mid, _)| *mid)
        };
        if let Some(existing) = existing {
            // Discord answers with the message already created for this nonce.
            let found = sandbox
                .discord
                .channels
                .messages_of(c.id)
                .into_iter()
                .find(|m| m.id == existing);
            if let Some(found) = found {
                return Ok(allowed.apply(Json(render_message(&sandbox, &found)).into_response()));
            }
        }
    }
    let bot: u64 = sandbox.discord.bot_id().parse().unwrap_or(0);
    let message =
        sandbox
            .discord
            .channels
            .post(c.id, bot, content, nonce, sandbox.discord.snowflake());
    announce_message(&sandbox, &message, Some(c.guild_id));
    if let Some(key) = nonce_key {
        sandbox
            .discord
            .channels
            .lock()
            .nonces
            .insert((c.id, key), (message.id, Instant::now()));
    }
    Ok(allowed.apply(Json(render_message(&sandbox, &message)).into_response()))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    after: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

pub(super) async fn list_messages(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, Response> {
    // Get Channel Messages: VIEW_CHANNEL is required; "If the current user is missing the
    // READ_MESSAGE_HISTORY permission in the channel, then no messages will be returned."
    let (c, allowed, access) = channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}/messages:get",
        limits::routes::DEFAULT,
        permissions::VIEW_CHANNEL,
    )
    .await?;
    if access.channel & permissions::READ_MESSAGE_HISTORY == 0 {
        return Ok(allowed.apply(Json(Vec::<Value>::new()).into_response()));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(form_error(
            "limit",
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 100.",
        ));
    }
    let after = q.after.as_deref().map(id);
    let before = q.before.as_deref().map(id);
    let mut messages = sandbox.discord.channels.messages_of(c.id);
    messages.sort_by_key(|m| m.id);
    let selected: Vec<SimMessage> = match (after, before) {
        // `after`: the oldest messages after the id, answered newest first, as Discord does.
        (Some(after), _) => messages
            .into_iter()
            .filter(|m| m.id > after)
            .take(limit as usize)
            .collect(),
        (None, Some(before)) => {
            let older: Vec<_> = messages.into_iter().filter(|m| m.id < before).collect();
            older[older.len().saturating_sub(limit as usize)..].to_vec()
        }
        (None, None) => messages[messages.len().saturating_sub(limit as usize)..].to_vec(),
    };
    let out: Vec<Value> = selected
        .iter()
        .rev()
        .map(|m| render_message(&sandbox, m))
        .collect();
    Ok(allowed.apply(Json(out).into_response()))
}

//! Discord's JSON shapes for what the simulator keeps (`GuildChannelResponse`,
//! `MessageResponse`, `GuildMemberResponse` in Discord's OpenAPI document) and its error bodies.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    channels::TEXT,
    permissions::Overwrite,
    state::{SimChannel, SimMember, SimMessage, ts},
};

pub(super) fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(json!({ "message": message, "code": code }))).into_response()
}

/// Discord's 50035 with a field error, as its documentation shows them.
pub(super) fn form_error(field: &str, code: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": { field: { "_errors": [{ "code": code, "message": message }] } }
        })),
    )
        .into_response()
}

pub(super) fn overwrite_json(o: &Overwrite) -> Value {
    // The documentation (which wins over the spec) has allow/deny as strings.
    json!({ "id": o.id.to_string(), "type": o.kind, "allow": o.allow.to_string(), "deny": o.deny.to_string() })
}

pub fn channel_json(c: &SimChannel) -> Value {
    let mut v = json!({
        "id": c.id.to_string(),
        "type": c.kind,
        "flags": 0,
        "guild_id": c.guild_id.to_string(),
        "name": c.name,
        "parent_id": c.parent_id.map(|p| p.to_string()),
        "position": c.position,
        "permission_overwrites": c.overwrites.iter().map(overwrite_json).collect::<Vec<_>>(),
        "nsfw": false,
    });
    if c.kind == TEXT {
        v["topic"] = json!(c.topic);
        v["last_message_id"] = json!(c.last_message_id.map(|m| m.to_string()));
        v["rate_limit_per_user"] = json!(0);
        v["last_pin_timestamp"] = Value::Null;
    }
    v
}

pub(super) fn user_json(id: u64, username: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": username,
        "avatar": null,
        "discriminator": "0",
        "public_flags": 0,
        "flags": 0,
        "bot": bot,
        "global_name": null,
        "primary_guild": null,
    })
}

pub fn message_json(m: &SimMessage, author: Value, mentions: Vec<Value>) -> Value {
    json!({
        "type": 0,
        "content": m.content,
        "mentions": mentions,
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "timestamp": ts(m.timestamp),
        "edited_timestamp": null,
        "flags": 0,
        "components": [],
        "id": m.id.to_string(),
        "channel_id": m.channel_id.to_string(),
        "author": author,
        "pinned": false,
        "mention_everyone": false,
        "tts": false,
        "nonce": m.nonce,
    })
}

pub(super) fn member_json(m: &SimMember) -> Value {
    json!({
        "avatar": null,
        "banner": null,
        "communication_disabled_until": null,
        "flags": 0,
        "joined_at": ts(m.joined_at),
        "nick": null,
        "pending": false,
        "premium_since": null,
        "roles": m.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "user": user_json(m.user_id, &m.username, false),
        "mute": false,
        "deaf": false,
    })
}

//! Guild channels and permission overwrites: list, create, get, modify, delete, put and delete
//! overwrites, with Discord's limits and permission checks.
#![expect(
    clippy::result_large_err,
    reason = "early exits are whole HTTP responses, returned at once; boxing them adds noise only"
)]
use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, put},
};
use serde_json::{Value, json};

use super::{
    error,
    gateway::intents,
    json::{channel_json, form_error},
    limits,
    permissions::{self, Denied, Overwrite, Write},
    state::SimChannel,
};
use crate::sandbox::Sandbox;

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route(
            "/api/v10/guilds/{guild_id}/channels",
            get(list_channels).post(create_channel),
        )
        .route(
            "/api/v10/channels/{channel_id}",
            get(get_channel)
                .patch(modify_channel)
                .delete(delete_channel),
        )
        .route(
            "/api/v10/channels/{channel_id}/permissions/{overwrite_id}",
            put(put_overwrite).delete(delete_overwrite),
        )
}

pub(super) const TEXT: u8 = 0;

pub(super) const CATEGORY: u8 = 4;

/// Discord's limits.
pub const MAX_CHANNELS_PER_GUILD: usize = 500;

pub const MAX_CHANNELS_PER_CATEGORY: usize = 50;

pub const MAX_TOPIC_CHARS: usize = 1024;

pub(super) fn announce_channel_delete(sandbox: &Sandbox, channel: &SimChannel) {
    sandbox.discord.gateway.dispatch(
        "CHANNEL_DELETE",
        Some(channel.guild_id),
        intents::GUILDS,
        &channel_json(channel),
    );
}

/// The bot token, the route's rate limit, and the bot's guild-level permissions
/// (`compute_base_permissions`), which must hold `needed`. A guild the bot is not in is 50001.
pub(super) async fn admit(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    route: &str,
    major: u64,
    limit: limits::RouteLimit,
    guild_id: u64,
    needed: u64,
) -> Result<limits::Allowed, Response> {
    sandbox.discord.authorize_bot(headers).map_err(|r| *r)?;
    let allowed = sandbox
        .discord
        .limits
        .check(route, &major.to_string(), limit, headers)
        .await?;
    match sandbox.discord.bot_access(guild_id) {
        None => Err(error(StatusCode::NOT_FOUND, 10004, "Unknown Guild")),
        Some(None) => Err(denied(Denied::MissingAccess)),
        Some(Some(base)) if base & needed != needed => Err(denied(Denied::MissingPermissions)),
        Some(Some(_)) => Ok(allowed),
    }
}

/// Discord's answer to a call the permissions refuse.
pub(super) fn denied(why: Denied) -> Response {
    match why {
        Denied::MissingAccess => error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
        Denied::MissingPermissions => error(StatusCode::FORBIDDEN, 50013, "Missing Permissions"),
    }
}

/// What the bot holds in a guild and one of its channels, for the checks a route makes after
/// its preamble.
pub(super) struct BotAccess {
    pub(super) subject: permissions::Subject,
    /// Guild level (`compute_base_permissions`).
    pub(super) base: u64,
    /// In the channel (`compute_overwrites`).
    pub(super) channel: u64,
}

impl BotAccess {
    fn of(sandbox: &Sandbox, channel: &SimChannel) -> Result<Self, Response> {
        let subject = sandbox
            .discord
            .bot_subject(channel.guild_id)
            .flatten()
            .ok_or_else(|| denied(Denied::MissingAccess))?;
        Ok(Self {
            base: permissions::base(&subject),
            channel: permissions::in_channel(&subject, &channel.overwrites),
            subject,
        })
    }

    /// The overwrite rules of Modify Channel and Edit Channel Permissions for a change to
    /// `channel`: bits held in the guild or the parent category, unless the bot has a
    /// MANAGE_ROLES overwrite in the channel.
    fn check_change(
        &self,
        sandbox: &Sandbox,
        channel: &SimChannel,
        written: &[Overwrite],
    ) -> Result<(), Response> {
        let parent = channel
            .parent_id
            .and_then(|p| sandbox.discord.channels.channel(p))
            .map(|p| permissions::in_channel(&self.subject, &p.overwrites));
        let write = Write::Change {
            parent,
            manage_roles_overwrite: permissions::has_manage_roles_overwrite(
                &self.subject,
                &channel.overwrites,
            ),
        };
        refuse_overwrites(permissions::check_overwrite_write(
            write,
            self.base,
            self.channel,
            written,
        ))
    }
}

/// A refused overwrite write is Discord's 50013.
pub(super) fn refuse_overwrites(
    checked: Result<(), permissions::OverwriteRefusal>,
) -> Result<(), Response> {
    checked.map_err(|refusal| {
        tracing::debug!(?refusal, "simulated Discord refused permission overwrites");
        denied(Denied::MissingPermissions)
    })
}

/// A snowflake from a path or form; 0 (no such thing) when it is not one.
pub(super) fn id(raw: &str) -> u64 {
    raw.parse().unwrap_or(0)
}

/// `allow`/`deny` as strings (documentation) or integers (spec).
pub(super) fn bits(v: Option<&Value>) -> Option<u64> {
    match v {
        None | Some(Value::Null) => Some(0),
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
}

pub(super) fn parse_overwrites(raw: Option<&Value>) -> Result<Vec<Overwrite>, Response> {
    let Some(Value::Array(items)) = raw else {
        return Ok(Vec::new());
    };
    if items.len() > 100 {
        return Err(form_error(
            "permission_overwrites",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 100 or fewer in length.",
        ));
    }
    items
        .iter()
        .map(|o| {
            let id = o.get("id").and_then(|v| {
                v.as_str()
                    .and_then(|s| s.parse().ok())
                    .or_else(|| v.as_u64())
            });
            let kind = o.get("type").and_then(Value::as_u64).filter(|k| *k <= 1);
            match (id, kind, bits(o.get("allow")), bits(o.get("deny"))) {
                (Some(id), Some(kind), Some(allow), Some(deny)) => Ok(Overwrite {
                    id,
                    kind: kind as u8,
                    allow,
                    deny,
                }),
                _ => Err(form_error(
                    "permission_overwrites",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                )),
            }
        })
        .collect()
}

/// A channel name as Discord stores it ("channel name (1-100 characters)"); text channels are
/// lowercased with dashes for spaces.
pub(super) fn channel_name(text: bool, raw: &str) -> Result<String, Response> {
    let name = if text {
        text_channel_name(raw)
    } else {
        raw.trim().to_owned()
    };
    if name.is_empty() || name.chars().count() > 100 {
        return Err(form_error(
            "name",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    Ok(name)
}

/// A `topic` field: absent (`None`), cleared (`Some(None)`) or set, at most 1024 characters
/// ("channel topic (0-1024 characters)").
pub(super) fn channel_topic(raw: Option<&Value>) -> Result<Option<Option<String>>, Response> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let topic = raw.as_str().map(str::to_owned);
    if topic
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_TOPIC_CHARS)
    {
        return Err(form_error(
            "topic",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 1024 or fewer in length.",
        ));
    }
    Ok(Some(topic))
}

/// Discord's text-channel naming: lowercase, spaces become dashes.
pub(super) fn text_channel_name(raw: &str) -> String {
    raw.trim()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
}

pub(super) async fn list_channels(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(guild): Path<String>,
) -> Result<Response, Response> {
    let guild = id(&guild);
    let allowed = admit(
        &sandbox,
        &headers,
        "guilds/{guild_id}/channels",
        guild,
        limits::routes::DEFAULT,
        guild,
        0,
    )
    .await?;
    let channels: Vec<Value> = sandbox
        .discord
        .channels
        .channels_of(guild)
        .iter()
        .map(channel_json)
        .collect();
    Ok(allowed.apply(Json(channels).into_response()))
}

pub(super) async fn create_channel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(guild): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    let guild = id(&guild);
    let allowed = admit(
        &sandbox,
        &headers,
        "guilds/{guild_id}/channels:post",
        guild,
        limits::routes::CREATE_GUILD_CHANNEL,
        guild,
        permissions::MANAGE_CHANNELS,
    )
    .await?;
    let body = json_body(&sandbox, "POST guilds/{guild_id}/channels", &body)?;
    let kind = body.get("type").and_then(Value::as_u64).unwrap_or(0);
    if kind != u64::from(TEXT) && kind != u64::from(CATEGORY) {
        return Err(form_error(
            "type",
            "BASE_TYPE_CHOICES",
            "Value must be one of {0, 4}.",
        ));
    }
    let name = channel_name(
        kind == u64::from(TEXT),
        body.get("name").and_then(Value::as_str).unwrap_or_default(),
    )?;
    let topic = channel_topic(body.get("topic"))?.flatten();
    let overwrites = parse_overwrites(body.get("permission_overwrites"))?;
    let parent_id = match body.get("parent_id") {
        None | Some(Value::Null) => None,
        Some(v) => match v
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .or_else(|| v.as_u64())
        {
            Some(parent) => Some(parent),
            None => {
                return Err(form_error(
                    "parent_id",
                    "NUMBER_TYPE_COERCE",
                    "Value is not snowflake.",
                ));
            }
        },
    };
    // `parent_id` is for channels inside a category (its "Channel Type" column excludes
    // categories): a category cannot nest.
    if parent_id.is_some() && kind == u64::from(CATEGORY) {
        return Err(form_error(
            "parent_id",
            "CHANNEL_PARENT_INVALID_TYPE",
            "A category cannot have a parent.",
        ));
    }
    let Some(bot) = sandbox.discord.bot_subject(guild).flatten() else {
        return Err(denied(Denied::MissingAccess));
    };
    let base = permissions::base(&bot);
    // Create Guild Channel: "If setting permission overwrites, only permissions your bot has in
    // the guild can be allowed/denied. Setting MANAGE_ROLES permission in channels is only
    // possible for guild administrators." Writing overwrites at all takes MANAGE_ROLES, as it
    // does on every other route that writes them.
    refuse_overwrites(permissions::check_overwrite_write(
        Write::Create,
        base,
        base,
        &overwrites,
    ))?;
    let channel_id = sandbox.discord.snowflake();
    let created = {
        let mut state = sandbox.discord.channels.lock();
        let in_guild = state
            .channels
            .values()
            .filter(|c| c.guild_id == guild)
            .count();
        if in_guild >= MAX_CHANNELS_PER_GUILD {
            return Err(error(
                StatusCode::BAD_REQUEST,
                30013,
                "Maximum number of guild channels reached (500)",
            ));
        }
        if let Some(parent) = parent_id {
            match state.channels.get(&parent) {
                // A channel goes into a category the bot can see and manage channels in (the
                // strict reading: Discord checks MANAGE_CHANNELS where the channel is made).
                Some(p) if p.kind == CATEGORY && p.guild_id == guild => {
                    let held = permissions::in_channel(&bot, &p.overwrites);
                    if let Err(why) = permissions::require(held, permissions::MANAGE_CHANNELS) {
                        return Err(denied(why));
                    }
                }
                _ => {
                    return Err(form_error(
                        "parent_id",
                        "CHANNEL_PARENT_INVALID",
                        "Category does not exist.",
                    ));
                }
            }
            let children = state
                .channels
                .values()
                .filter(|c| c.parent_id == Some(parent))
                .count();
            if children >= MAX_CHANNELS_PER_CATEGORY {
                return Err(form_error(
                    "parent_id",
                    "CHANNEL_PARENT_MAX_CHANNELS",
                    "Maximum number of channels in category reached (50)",
                ));
            }
        }
        let channel = SimChannel {
            id: channel_id,
            guild_id: guild,
            kind: kind as u8,
            name,
            topic,
            parent_id,
            position: i64::try_from(in_guild).unwrap_or(0),
            overwrites,
            last_message_id: None,
        };
        state.channels.insert(channel.id, channel.clone());
        channel
    };
    let out = channel_json(&created);
    sandbox
        .discord
        .gateway
        .dispatch("CHANNEL_CREATE", Some(guild), intents::GUILDS, &out);
    Ok(allowed.apply((StatusCode::CREATED, Json(out)).into_response()))
}

/// A request body as Discord reads it (invalid JSON is its 50109), recorded for tests.
pub(super) fn json_body(
    sandbox: &Sandbox,
    route: &'static str,
    bytes: &[u8],
) -> Result<Value, Response> {
    let body = serde_json::from_slice::<Value>(bytes).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            50109,
            "The request body contains invalid JSON.",
        )
    })?;
    sandbox.discord.channels.record(route, &body);
    Ok(body)
}

/// The preamble of every channel route: the bot token, the channel, the route's rate limit and
/// the bot's permissions in the channel: it must see the channel (50001 otherwise, "Implicit
/// Permissions") and hold `needed` there (50013).
pub(super) async fn channel_call(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    channel: &str,
    route: &str,
    limit: limits::RouteLimit,
    needed: u64,
) -> Result<(SimChannel, limits::Allowed, BotAccess), Response> {
    sandbox.discord.authorize_bot(headers).map_err(|r| *r)?;
    let c = find(sandbox, channel)?;
    let allowed = admit(sandbox, headers, route, c.id, limit, c.guild_id, 0).await?;
    let access = BotAccess::of(sandbox, &c)?;
    permissions::require(access.channel, needed).map_err(denied)?;
    Ok((c, allowed, access))
}

/// The channel and its guild, or Discord's 404.
pub(super) fn find(sandbox: &Sandbox, channel: &str) -> Result<SimChannel, Response> {
    sandbox
        .discord
        .channels
        .channel(id(channel))
        .ok_or_else(|| error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"))
}

pub(super) async fn get_channel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(channel): Path<String>,
) -> Result<Response, Response> {
    let (c, allowed, _) = channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}",
        limits::routes::DEFAULT,
        permissions::VIEW_CHANNEL,
    )
    .await?;
    Ok(allowed.apply(Json(channel_json(&c)).into_response()))
}

pub(super) async fn modify_channel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    let (c, allowed, access) = channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}:patch",
        limits::routes::DEFAULT,
        permissions::MANAGE_CHANNELS,
    )
    .await?;
    let body = json_body(&sandbox, "PATCH channels/{channel_id}", &body)?;
    let overwrites = body
        .get("permission_overwrites")
        .map(|o| parse_overwrites(Some(o)))
        .transpose()?;
    if let Some(written) = &overwrites
        && let Err(refused) = access.check_change(&sandbox, &c, written)
    {
        return Err(refused);
    }
    // Everything is checked before anything changes: a refused PATCH changes nothing
    // ("a 400 BAD REQUEST on invalid parameters", Modify Channel).
    let name = match body.get("name").and_then(Value::as_str) {
        Some(raw) => Some(channel_name(c.is_text(), raw)?),
        None => None,
    };
    let topic = channel_topic(body.get("topic"))?;
    let mut state = sandbox.discord.channels.lock();
    let Some(stored) = state.channels.get_mut(&c.id) else {
        return Err(error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"));
    };
    if let Some(name) = name {
        stored.name = name;
    }
    if let Some(topic) = topic {
        stored.topic = topic;
    }
    if let Some(overwrites) = overwrites {
        stored.overwrites = overwrites;
    }
    let out = channel_json(stored);
    Ok(allowed.apply(Json(out).into_response()))
}

pub(super) async fn delete_channel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(channel): Path<String>,
) -> Result<Response, Response> {
    let (c, allowed, _) = channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}:delete",
        limits::routes::DEFAULT,
        permissions::MANAGE_CHANNELS,
    )
    .await?;
    {
        let mut state = sandbox.discord.channels.lock();
        state.channels.remove(&c.id);
        // Delete/Close Channel: "Deleting a category does not delete its child channels; they
        // will have their parent_id removed".
        for child in state.channels.values_mut() {
            if child.parent_id == Some(c.id) {
                child.parent_id = None;
            }
        }
    }
    let out = channel_json(&c);
    announce_channel_delete(&sandbox, &c);
    Ok(allowed.apply(Json(out).into_response()))
}

pub(super) async fn put_overwrite(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path((channel, overwrite)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Response> {
    let (c, allowed, access) = channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}/permissions",
        limits::routes::DEFAULT,
        permissions::MANAGE_ROLES,
    )
    .await?;
    let body = json_body(
        &sandbox,
        "PUT channels/{channel_id}/permissions/{overwrite_id}",
        &body,
    )?;
    let mut item = body.clone();
    item["id"] = json!(overwrite);
    let parsed = parse_overwrites(Some(&json!([item])))?.remove(0);
    access.check_change(&sandbox, &c, std::slice::from_ref(&parsed))?;
    let mut state = sandbox.discord.channels.lock();
    if let Some(stored) = state.channels.get_mut(&c.id) {
        stored.overwrites.retain(|o| o.id != parsed.id);
        stored.overwrites.push(parsed);
    }
    Ok(allowed.apply(StatusCode::NO_CONTENT.into_response()))
}

pub(super) async fn delete_overwrite(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path((channel, overwrite)): Path<(String, String)>,
) -> Result<Response, Response> {
    let (c, allowed, _) = channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}/permissions",
        limits::routes::DEFAULT,
        permissions::MANAGE_ROLES,
    )
    .await?;
    let mut state = sandbox.discord.channels.lock();
    if let Some(stored) = state.channels.get_mut(&c.id) {
        stored.overwrites.retain(|o| o.id != id(&overwrite));
    }
    Ok(allowed.apply(StatusCode::NO_CONTENT.into_response()))
}

//! Discord's guild channels, permission overwrites, messages and members, as the simulator
//! keeps them. Shapes follow Discord's OpenAPI document (`GuildChannelResponse`,
//! `MessageResponse`, `GuildMemberResponse`); limits follow its documentation.
#![expect(
    clippy::result_large_err,
    reason = "early exits are whole HTTP responses, returned at once; boxing them adds noise only"
)]
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, put},
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Sandbox, gateway::intents, limits};

const TEXT: u8 = 0;
const CATEGORY: u8 = 4;
/// Discord's limits.
pub const MAX_CHANNELS_PER_GUILD: usize = 500;
pub const MAX_CHANNELS_PER_CATEGORY: usize = 50;
pub const MAX_CONTENT_CHARS: usize = 2000;
pub const MAX_TOPIC_CHARS: usize = 1024;
pub const MAX_USERNAME_CHARS: usize = 32;
/// How long Discord remembers a nonce for `enforce_nonce`.
const NONCE_WINDOW: Duration = Duration::from_secs(5 * 60);

pub use super::permissions::Overwrite;
use super::permissions::{self, Denied, Write};

#[derive(Clone, Debug)]
pub struct SimChannel {
    pub id: u64,
    pub guild_id: u64,
    pub kind: u8,
    pub name: String,
    pub topic: Option<String>,
    pub parent_id: Option<u64>,
    pub position: i64,
    pub overwrites: Vec<Overwrite>,
    pub last_message_id: Option<u64>,
}

impl SimChannel {
    pub fn is_text(&self) -> bool {
        self.kind == TEXT
    }
}

#[derive(Clone, Debug)]
pub struct SimMessage {
    pub id: u64,
    pub channel_id: u64,
    pub author_id: u64,
    pub content: String,
    pub nonce: Option<Value>,
    pub timestamp: DateTime<Utc>,
    pub mentions: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct SimMember {
    pub user_id: u64,
    pub username: String,
    pub joined_at: DateTime<Utc>,
    /// Role ids beyond @everyone, which every member has.
    pub roles: Vec<u64>,
}

#[derive(Default)]
struct State_ {
    channels: BTreeMap<u64, SimChannel>,
    messages: BTreeMap<u64, Vec<SimMessage>>,
    members: HashMap<(u64, u64), SimMember>,
    nonces: HashMap<(u64, String), (u64, Instant)>,
    /// Direct-message channels with the bot, by user.
    dm_channels: HashMap<u64, u64>,
}

#[derive(Default)]
pub struct Channels {
    state: Mutex<State_>,
    /// Every request body received, by route, so tests can check the product's requests
    /// against Discord's schemas.
    requests: Mutex<Vec<(&'static str, Value)>>,
}

impl Channels {
    fn lock(&self) -> std::sync::MutexGuard<'_, State_> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, route: &'static str, body: &Value) {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((route, body.clone()));
    }

    /// The request bodies received so far: `(route, body)`.
    pub fn recorded(&self) -> Vec<(&'static str, Value)> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn add_member(&self, guild_id: u64, user_id: u64, username: &str) -> SimMember {
        let member = SimMember {
            user_id,
            username: username.to_owned(),
            joined_at: Utc::now(),
            roles: Vec::new(),
        };
        self.lock()
            .members
            .insert((guild_id, user_id), member.clone());
        member
    }

    /// A member's role ids, or `None` when they are not in the guild.
    pub fn member_roles(&self, guild_id: u64, user_id: u64) -> Option<Vec<u64>> {
        self.lock()
            .members
            .get(&(guild_id, user_id))
            .map(|m| m.roles.clone())
    }

    /// Gives a member a role; false when they are not in the guild.
    pub fn add_member_role(&self, guild_id: u64, user_id: u64, role_id: u64) -> bool {
        match self.lock().members.get_mut(&(guild_id, user_id)) {
            Some(member) => {
                if !member.roles.contains(&role_id) {
                    member.roles.push(role_id);
                }
                true
            }
            None => false,
        }
    }

    pub fn channel(&self, id: u64) -> Option<SimChannel> {
        self.lock().channels.get(&id).cloned()
    }

    pub fn channels_of(&self, guild_id: u64) -> Vec<SimChannel> {
        self.lock()
            .channels
            .values()
            .filter(|c| c.guild_id == guild_id)
            .cloned()
            .collect()
    }

    pub fn members_of(&self, guild_id: u64) -> Vec<SimMember> {
        self.lock()
            .members
            .iter()
            .filter(|((g, _), _)| *g == guild_id)
            .map(|(_, m)| m.clone())
            .collect()
    }

    pub fn messages_of(&self, channel_id: u64) -> Vec<SimMessage> {
        self.lock()
            .messages
            .get(&channel_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Posts a message as someone (the bot through REST, a member through sandbox control).
    pub fn post(
        &self,
        channel_id: u64,
        author_id: u64,
        content: &str,
        nonce: Option<Value>,
        id: u64,
    ) -> SimMessage {
        let mentions = mentioned_users(content);
        let message = SimMessage {
            id,
            channel_id,
            author_id,
            content: content.to_owned(),
            nonce,
            timestamp: Utc::now(),
            mentions,
        };
        let mut state = self.lock();
        state
            .messages
            .entry(channel_id)
            .or_default()
            .push(message.clone());
        if let Some(channel) = state.channels.get_mut(&channel_id) {
            channel.last_message_id = Some(message.id);
        }
        message
    }
}

/// `<@123>` and `<@!123>` mentions in content.
fn mentioned_users(content: &str) -> Vec<u64> {
    content
        .split("<@")
        .skip(1)
        .filter_map(|rest| rest.trim_start_matches('!').split('>').next()?.parse().ok())
        .collect()
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    ts(at)
}

fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(json!({ "message": message, "code": code }))).into_response()
}

/// Discord's 50035 with a field error, as its documentation shows them.
fn form_error(field: &str, code: &str, message: &str) -> Response {
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

fn overwrite_json(o: &Overwrite) -> Value {
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

fn user_json(id: u64, username: &str, bot: bool) -> Value {
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

fn member_json(m: &SimMember) -> Value {
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

pub fn router() -> Router<Arc<Sandbox>> {
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
        .route(
            "/api/v10/channels/{channel_id}/messages",
            get(list_messages).post(create_message),
        )
        .route(
            "/api/v10/guilds/{guild_id}/members/{user_id}",
            get(get_member),
        )
        .route(
            "/servers/{guild_id}/members",
            axum::routing::post(add_member),
        )
        .route(
            "/servers/{guild_id}/members/{user_id}/roles/{role_id}",
            put(give_role),
        )
        .route(
            "/servers/{guild_id}/channels",
            axum::routing::post(seed_channels),
        )
        .route(
            "/channels/{channel_id}/messages",
            axum::routing::post(post_as_member),
        )
        .route(
            "/channels/{channel_id}",
            axum::routing::delete(delete_as_admin),
        )
        .route("/users/{user_id}/dm", axum::routing::post(post_dm))
}

/// A person's message content as Discord's client would accept it: 1 to 2000 characters.
/// Discord's usernames are 2 to 32 characters.
pub(super) fn valid_username(name: &str) -> bool {
    (2..=MAX_USERNAME_CHARS).contains(&name.chars().count())
}

fn valid_member_content(content: &str) -> bool {
    !content.trim().is_empty() && content.chars().count() <= MAX_CONTENT_CHARS
}

fn member_content(content: &str) -> Result<(), Response> {
    if valid_member_content(content) {
        Ok(())
    } else {
        Err(Refusal::BadLength.response())
    }
}

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

fn announce_channel_delete(sandbox: &Sandbox, channel: &SimChannel) {
    sandbox.discord.gateway.dispatch(
        "CHANNEL_DELETE",
        Some(channel.guild_id),
        intents::GUILDS,
        &channel_json(channel),
    );
}

/// Sandbox control: a server admin deletes a channel in Discord's own client.
async fn delete_as_admin(
    State(sandbox): State<Arc<Sandbox>>,
    Path(channel): Path<String>,
) -> Response {
    let removed = sandbox
        .discord
        .channels
        .lock()
        .channels
        .remove(&id(&channel));
    match removed {
        Some(c) => {
            announce_channel_delete(&sandbox, &c);
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
    }
}

#[derive(Deserialize)]
struct DirectMessage {
    content: String,
}

/// Sandbox control: a user writes to the bot in a direct message (the legacy path). As on
/// Discord, they must share a server with the bot.
async fn post_dm(
    State(sandbox): State<Arc<Sandbox>>,
    Path(user): Path<String>,
    Json(body): Json<DirectMessage>,
) -> Response {
    let user = id(&user);
    let guilds: Vec<u64> = sandbox
        .discord
        .channels
        .lock()
        .members
        .keys()
        .filter(|(_, member)| *member == user)
        .map(|(guild, _)| *guild)
        .collect();
    let shares_guild = guilds
        .into_iter()
        .any(|guild| sandbox.discord.bot_access(guild).flatten().is_some());
    if !shares_guild {
        return error(
            StatusCode::FORBIDDEN,
            50007,
            "Cannot send messages to this user",
        );
    }
    if let Err(invalid) = member_content(&body.content) {
        return invalid;
    }
    let existing = sandbox
        .discord
        .channels
        .lock()
        .dm_channels
        .get(&user)
        .copied();
    let channel = match existing {
        Some(channel) => channel,
        None => {
            let channel = sandbox.discord.snowflake();
            *sandbox
                .discord
                .channels
                .lock()
                .dm_channels
                .entry(user)
                .or_insert(channel)
        }
    };
    let message = sandbox.discord.channels.post(
        channel,
        user,
        &body.content,
        None,
        sandbox.discord.snowflake(),
    );
    announce_message(&sandbox, &message, None);
    (
        StatusCode::CREATED,
        Json(render_message(&sandbox, &message)),
    )
        .into_response()
}

/// The bot token, the route's rate limit, and the bot's guild-level permissions
/// (`compute_base_permissions`), which must hold `needed`. A guild the bot is not in is 50001.
async fn admit(
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
fn denied(why: Denied) -> Response {
    match why {
        Denied::MissingAccess => error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
        Denied::MissingPermissions => error(StatusCode::FORBIDDEN, 50013, "Missing Permissions"),
    }
}

/// What the bot holds in a guild and one of its channels, for the checks a route makes after
/// its preamble.
struct BotAccess {
    subject: permissions::Subject,
    /// Guild level (`compute_base_permissions`).
    base: u64,
    /// In the channel (`compute_overwrites`).
    channel: u64,
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
fn refuse_overwrites(checked: Result<(), permissions::OverwriteRefusal>) -> Result<(), Response> {
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
fn bits(v: Option<&Value>) -> Option<u64> {
    match v {
        None | Some(Value::Null) => Some(0),
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
}

fn parse_overwrites(raw: Option<&Value>) -> Result<Vec<Overwrite>, Response> {
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
fn channel_name(text: bool, raw: &str) -> Result<String, Response> {
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
fn channel_topic(raw: Option<&Value>) -> Result<Option<Option<String>>, Response> {
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
fn text_channel_name(raw: &str) -> String {
    raw.trim()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
}

async fn list_channels(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(guild): Path<String>,
) -> Response {
    let guild = id(&guild);
    match admit(
        &sandbox,
        &headers,
        "guilds/{guild_id}/channels",
        guild,
        limits::routes::DEFAULT,
        guild,
        0,
    )
    .await
    {
        Ok(allowed) => allowed.apply(
            Json(
                sandbox
                    .discord
                    .channels
                    .channels_of(guild)
                    .iter()
                    .map(channel_json)
                    .collect::<Vec<_>>(),
            )
            .into_response(),
        ),
        Err(r) => r,
    }
}

async fn create_channel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(guild): Path<String>,
    body: Bytes,
) -> Response {
    let guild = id(&guild);
    let allowed = match admit(
        &sandbox,
        &headers,
        "guilds/{guild_id}/channels:post",
        guild,
        limits::routes::CREATE_GUILD_CHANNEL,
        guild,
        permissions::MANAGE_CHANNELS,
    )
    .await
    {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body = match json_body(&sandbox, "POST guilds/{guild_id}/channels", &body) {
        Ok(body) => body,
        Err(r) => return r,
    };
    let kind = body.get("type").and_then(Value::as_u64).unwrap_or(0);
    if kind != u64::from(TEXT) && kind != u64::from(CATEGORY) {
        return form_error("type", "BASE_TYPE_CHOICES", "Value must be one of {0, 4}.");
    }
    let name = match channel_name(
        kind == u64::from(TEXT),
        body.get("name").and_then(Value::as_str).unwrap_or_default(),
    ) {
        Ok(name) => name,
        Err(r) => return r,
    };
    let topic = match channel_topic(body.get("topic")) {
        Ok(topic) => topic.flatten(),
        Err(r) => return r,
    };
    let overwrites = match parse_overwrites(body.get("permission_overwrites")) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let parent_id = match body.get("parent_id") {
        None | Some(Value::Null) => None,
        Some(v) => match v
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .or_else(|| v.as_u64())
        {
            Some(parent) => Some(parent),
            None => {
                return form_error("parent_id", "NUMBER_TYPE_COERCE", "Value is not snowflake.");
            }
        },
    };
    // `parent_id` is for channels inside a category (its "Channel Type" column excludes
    // categories): a category cannot nest.
    if parent_id.is_some() && kind == u64::from(CATEGORY) {
        return form_error(
            "parent_id",
            "CHANNEL_PARENT_INVALID_TYPE",
            "A category cannot have a parent.",
        );
    }
    let Some(bot) = sandbox.discord.bot_subject(guild).flatten() else {
        return denied(Denied::MissingAccess);
    };
    let base = permissions::base(&bot);
    // Create Guild Channel: "If setting permission overwrites, only permissions your bot has in
    // the guild can be allowed/denied. Setting MANAGE_ROLES permission in channels is only
    // possible for guild administrators." Writing overwrites at all takes MANAGE_ROLES, as it
    // does on every other route that writes them.
    if let Err(refused) = refuse_overwrites(permissions::check_overwrite_write(
        Write::Create,
        base,
        base,
        &overwrites,
    )) {
        return refused;
    }
    let channel_id = sandbox.discord.snowflake();
    let created = {
        let mut state = sandbox.discord.channels.lock();
        let in_guild = state
            .channels
            .values()
            .filter(|c| c.guild_id == guild)
            .count();
        if in_guild >= MAX_CHANNELS_PER_GUILD {
            return error(
                StatusCode::BAD_REQUEST,
                30013,
                "Maximum number of guild channels reached (500)",
            );
        }
        if let Some(parent) = parent_id {
            match state.channels.get(&parent) {
                // A channel goes into a category the bot can see and manage channels in (the
                // strict reading: Discord checks MANAGE_CHANNELS where the channel is made).
                Some(p) if p.kind == CATEGORY && p.guild_id == guild => {
                    let held = permissions::in_channel(&bot, &p.overwrites);
                    if let Err(why) = permissions::require(held, permissions::MANAGE_CHANNELS) {
                        return denied(why);
                    }
                }
                _ => {
                    return form_error(
                        "parent_id",
                        "CHANNEL_PARENT_INVALID",
                        "Category does not exist.",
                    );
                }
            }
            let children = state
                .channels
                .values()
                .filter(|c| c.parent_id == Some(parent))
                .count();
            if children >= MAX_CHANNELS_PER_CATEGORY {
                return form_error(
                    "parent_id",
                    "CHANNEL_PARENT_MAX_CHANNELS",
                    "Maximum number of channels in category reached (50)",
                );
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
    allowed.apply((StatusCode::CREATED, Json(out)).into_response())
}

/// A request body as Discord reads it (invalid JSON is its 50109), recorded for tests.
fn json_body(sandbox: &Sandbox, route: &'static str, bytes: &[u8]) -> Result<Value, Response> {
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
async fn channel_call(
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
fn find(sandbox: &Sandbox, channel: &str) -> Result<SimChannel, Response> {
    sandbox
        .discord
        .channels
        .channel(id(channel))
        .ok_or_else(|| error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"))
}

async fn get_channel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(channel): Path<String>,
) -> Response {
    let route = "channels/{channel_id}";
    match channel_call(
        &sandbox,
        &headers,
        &channel,
        route,
        limits::routes::DEFAULT,
        permissions::VIEW_CHANNEL,
    )
    .await
    {
        Ok((c, allowed, _)) => allowed.apply(Json(channel_json(&c)).into_response()),
        Err(r) => r,
    }
}

async fn modify_channel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    body: Bytes,
) -> Response {
    let (c, allowed, access) = match channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}:patch",
        limits::routes::DEFAULT,
        permissions::MANAGE_CHANNELS,
    )
    .await
    {
        Ok(found) => found,
        Err(r) => return r,
    };
    let body = match json_body(&sandbox, "PATCH channels/{channel_id}", &body) {
        Ok(body) => body,
        Err(r) => return r,
    };
    let overwrites = match body
        .get("permission_overwrites")
        .map(|o| parse_overwrites(Some(o)))
        .transpose()
    {
        Ok(o) => o,
        Err(r) => return r,
    };
    if let Some(written) = &overwrites
        && let Err(refused) = access.check_change(&sandbox, &c, written)
    {
        return refused;
    }
    // Everything is checked before anything changes: a refused PATCH changes nothing
    // ("a 400 BAD REQUEST on invalid parameters", Modify Channel).
    let name = match body.get("name").and_then(Value::as_str) {
        Some(raw) => match channel_name(c.is_text(), raw) {
            Ok(name) => Some(name),
            Err(r) => return r,
        },
        None => None,
    };
    let topic = match channel_topic(body.get("topic")) {
        Ok(topic) => topic,
        Err(r) => return r,
    };
    let mut state = sandbox.discord.channels.lock();
    let Some(stored) = state.channels.get_mut(&c.id) else {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
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
    allowed.apply(Json(out).into_response())
}

async fn delete_channel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(channel): Path<String>,
) -> Response {
    let (c, allowed, _) = match channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}:delete",
        limits::routes::DEFAULT,
        permissions::MANAGE_CHANNELS,
    )
    .await
    {
        Ok(found) => found,
        Err(r) => return r,
    };
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
    allowed.apply(Json(out).into_response())
}

async fn put_overwrite(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path((channel, overwrite)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (c, allowed, access) = match channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}/permissions",
        limits::routes::DEFAULT,
        permissions::MANAGE_ROLES,
    )
    .await
    {
        Ok(found) => found,
        Err(r) => return r,
    };
    let body = match json_body(
        &sandbox,
        "PUT channels/{channel_id}/permissions/{overwrite_id}",
        &body,
    ) {
        Ok(body) => body,
        Err(r) => return r,
    };
    let mut item = body.clone();
    item["id"] = json!(overwrite);
    let parsed = match parse_overwrites(Some(&json!([item]))) {
        Ok(mut o) => o.remove(0),
        Err(r) => return r,
    };
    if let Err(refused) = access.check_change(&sandbox, &c, std::slice::from_ref(&parsed)) {
        return refused;
    }
    let mut state = sandbox.discord.channels.lock();
    if let Some(stored) = state.channels.get_mut(&c.id) {
        stored.overwrites.retain(|o| o.id != parsed.id);
        stored.overwrites.push(parsed);
    }
    allowed.apply(StatusCode::NO_CONTENT.into_response())
}

async fn delete_overwrite(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path((channel, overwrite)): Path<(String, String)>,
) -> Response {
    let (c, allowed, _) = match channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}/permissions",
        limits::routes::DEFAULT,
        permissions::MANAGE_ROLES,
    )
    .await
    {
        Ok(found) => found,
        Err(r) => return r,
    };
    let mut state = sandbox.discord.channels.lock();
    if let Some(stored) = state.channels.get_mut(&c.id) {
        stored.overwrites.retain(|o| o.id != id(&overwrite));
    }
    allowed.apply(StatusCode::NO_CONTENT.into_response())
}

fn render_message(sandbox: &Sandbox, m: &SimMessage) -> Value {
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

async fn create_message(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    body: Bytes,
) -> Response {
    // Create Message, "Limitations": "the current user must have the SEND_MESSAGES permission".
    let needed = permissions::VIEW_CHANNEL | permissions::SEND_MESSAGES;
    let (c, allowed, _) = match channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}/messages",
        limits::routes::CREATE_MESSAGE,
        needed,
    )
    .await
    {
        Ok(found) => found,
        Err(r) => return r,
    };
    let body = match json_body(&sandbox, "POST channels/{channel_id}/messages", &body) {
        Ok(body) => body,
        Err(r) => return r,
    };
    // A category holds channels, not messages (JSON error code 50008, "Cannot send messages in
    // a non-text channel", `topics/opcodes-and-status-codes`).
    if !c.is_text() {
        return error(
            StatusCode::BAD_REQUEST,
            50008,
            "Cannot send messages in a non-text channel",
        );
    }
    let content = body
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if content.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        );
    }
    if content.chars().count() > MAX_CONTENT_CHARS {
        return form_error(
            "content",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 2000 or fewer in length.",
        );
    }
    let nonce = body.get("nonce").filter(|n| !n.is_null()).cloned();
    let nonce_key = nonce
        .as_ref()
        .map(|n| n.as_str().map_or_else(|| n.to_string(), str::to_owned));
    if nonce_key.as_ref().is_some_and(|n| n.chars().count() > 25) {
        return form_error(
            "nonce",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        );
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
                return allowed.apply(Json(render_message(&sandbox, &found)).into_response());
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
    allowed.apply(Json(render_message(&sandbox, &message)).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    after: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

async fn list_messages(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    // Get Channel Messages: VIEW_CHANNEL is required; "If the current user is missing the
    // READ_MESSAGE_HISTORY permission in the channel, then no messages will be returned."
    let (c, allowed, access) = match channel_call(
        &sandbox,
        &headers,
        &channel,
        "channels/{channel_id}/messages:get",
        limits::routes::DEFAULT,
        permissions::VIEW_CHANNEL,
    )
    .await
    {
        Ok(found) => found,
        Err(r) => return r,
    };
    if access.channel & permissions::READ_MESSAGE_HISTORY == 0 {
        return allowed.apply(Json(Vec::<Value>::new()).into_response());
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return form_error(
            "limit",
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 100.",
        );
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
    allowed.apply(Json(out).into_response())
}

async fn get_member(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path((guild, user)): Path<(String, String)>,
) -> Response {
    let guild = id(&guild);
    let allowed = match admit(
        &sandbox,
        &headers,
        "guilds/{guild_id}/members",
        guild,
        limits::routes::DEFAULT,
        guild,
        0,
    )
    .await
    {
        Ok(a) => a,
        Err(r) => return r,
    };
    let member = sandbox
        .discord
        .channels
        .lock()
        .members
        .get(&(guild, id(&user)))
        .cloned();
    match member {
        Some(m) => allowed.apply(Json(member_json(&m)).into_response()),
        None => error(StatusCode::NOT_FOUND, 10007, "Unknown Member"),
    }
}

#[derive(Deserialize)]
struct NewMember {
    username: String,
}

/// Sandbox control: a person joins the server (a lead, say).
async fn add_member(
    State(sandbox): State<Arc<Sandbox>>,
    Path(guild): Path<String>,
    Json(body): Json<NewMember>,
) -> Response {
    let guild = id(&guild);
    if sandbox.discord.bot_access(guild).is_none() {
        return error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    }
    let username = body.username.trim();
    if !valid_username(username) {
        return form_error(
            "username",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 2 and 32 in length.",
        );
    }
    let user_id = sandbox.discord.snowflake();
    let member = sandbox
        .discord
        .channels
        .add_member(guild, user_id, username);
    (StatusCode::CREATED, Json(member_json(&member))).into_response()
}

/// Sandbox control: a server admin gives a member a role.
async fn give_role(
    State(sandbox): State<Arc<Sandbox>>,
    Path((guild, user, role)): Path<(String, String, String)>,
) -> Response {
    let (guild, user, role) = (id(&guild), id(&user), id(&role));
    let role_exists = sandbox
        .discord
        .guilds()
        .iter()
        .any(|g| g.id == guild && g.role(role).is_some());
    if !role_exists {
        return error(StatusCode::NOT_FOUND, 10011, "Unknown Role");
    }
    if sandbox.discord.channels.add_member_role(guild, user, role) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, 10007, "Unknown Member")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberPost {
    author_id: String,
    content: String,
}

/// Sandbox control: a member posts in a channel (a lead replying).
async fn post_as_member(
    State(sandbox): State<Arc<Sandbox>>,
    Path(channel): Path<String>,
    Json(body): Json<MemberPost>,
) -> Response {
    let c = match find(&sandbox, &channel) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match post_member_message(&sandbox, &c, id(&body.author_id), &body.content) {
        Ok(message) => (
            StatusCode::CREATED,
            Json(render_message(&sandbox, &message)),
        )
            .into_response(),
        Err(refusal) => refusal.response(),
    }
}

/// Why a member's post was refused, as Discord's client would be told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    UnknownMember,
    /// The member cannot see the channel (a lead channel of someone else, say).
    CannotView,
    /// The member sees the channel but may not write there (an archived lead channel).
    CannotSend,
    BadLength,
}

impl Refusal {
    pub(super) fn text(self) -> &'static str {
        match self {
            Self::UnknownMember => {
                "Unknown Member: that user is not in this server. Add them as a member first."
            }
            Self::CannotView => {
                "Missing Access: this member cannot see the channel (it is private to its lead)."
            }
            Self::CannotSend => {
                "Missing Permissions: this member may read but not write here (the channel is archived)."
            }
            Self::BadLength => "Messages must be between 1 and 2000 characters.",
        }
    }

    fn response(self) -> Response {
        match self {
            Self::UnknownMember => error(StatusCode::NOT_FOUND, 10007, "Unknown Member"),
            Self::CannotView => denied(Denied::MissingAccess),
            Self::CannotSend => denied(Denied::MissingPermissions),
            Self::BadLength => form_error(
                "content",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 2000 in length.",
            ),
        }
    }
}

/// A member of the channel's server posts in it; the gateway announces it.
pub(super) fn post_member_message(
    sandbox: &Sandbox,
    channel: &SimChannel,
    author: u64,
    content: &str,
) -> Result<SimMessage, Refusal> {
    let Some(member) = sandbox.discord.member_subject(channel.guild_id, author) else {
        return Err(Refusal::UnknownMember);
    };
    // A person's client is bound by the same permissions: they post only where they can see
    // the channel and send messages.
    let held = permissions::in_channel(&member, &channel.overwrites);
    match permissions::require(held, permissions::SEND_MESSAGES) {
        Ok(()) => {}
        Err(Denied::MissingAccess) => return Err(Refusal::CannotView),
        Err(Denied::MissingPermissions) => return Err(Refusal::CannotSend),
    }
    if !valid_member_content(content) {
        return Err(Refusal::BadLength);
    }
    let message = sandbox.discord.channels.post(
        channel.id,
        author,
        content,
        None,
        sandbox.discord.snowflake(),
    );
    announce_message(sandbox, &message, Some(channel.guild_id));
    Ok(message)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Seed {
    count: usize,
    parent_id: Option<String>,
}

/// Sandbox control: fills a server (or a category) with channels at once, without the REST
/// route's rate limit, so tests can reach Discord's channel limits quickly.
async fn seed_channels(
    State(sandbox): State<Arc<Sandbox>>,
    Path(guild): Path<String>,
    Json(body): Json<Seed>,
) -> Response {
    let guild = id(&guild);
    if sandbox.discord.bot_access(guild).is_none() {
        return error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    }
    let parent_id = body.parent_id.as_deref().map(id);
    let ids: Vec<u64> = (0..body.count.min(MAX_CHANNELS_PER_GUILD))
        .map(|_| sandbox.discord.snowflake())
        .collect();
    let mut state = sandbox.discord.channels.lock();
    for (i, channel_id) in ids.iter().enumerate() {
        let channel = SimChannel {
            id: *channel_id,
            guild_id: guild,
            kind: TEXT,
            name: format!("seeded-{i}"),
            topic: None,
            parent_id,
            position: 0,
            overwrites: Vec::new(),
            last_message_id: None,
        };
        state.channels.insert(channel.id, channel);
    }
    (StatusCode::CREATED, Json(json!({ "created": ids.len() }))).into_response()
}

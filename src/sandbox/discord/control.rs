//! Sandbox controls: what people and admins do in Discord's own client (join a server, post,
//! delete a channel, take roles), and the operator's switches (servers, faults, limits, outages).
#![expect(
    clippy::result_large_err,
    reason = "early exits are whole HTTP responses, returned at once; boxing them adds noise only"
)]
use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post, put},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Faults, SimGuild,
    channels::{MAX_CHANNELS_PER_GUILD, TEXT, announce_channel_delete, denied, find, id},
    error,
    json::{form_error, member_json},
    messages::{announce_message, render_message},
    permissions::{self, Denied},
    state::{MAX_CONTENT_CHARS, MAX_USERNAME_CHARS, SimChannel, SimMessage},
};
use crate::sandbox::Sandbox;

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/stats", get(stats))
        .route("/servers", get(list_servers).post(create_server))
        .route(
            "/servers/{guild_id}/bot",
            delete(remove_bot).put(restore_bot),
        )
        .route("/servers/{guild_id}/outage", post(outage))
        .route("/faults", get(get_faults).put(set_faults))
        .route("/limits", put(set_limits))
        .route("/servers/{guild_id}/members", post(add_member))
        .route(
            "/servers/{guild_id}/members/{user_id}/roles/{role_id}",
            put(give_role),
        )
        .route("/servers/{guild_id}/channels", post(seed_channels))
        .route("/channels/{channel_id}/messages", post(post_as_member))
        .route("/channels/{channel_id}", delete(delete_as_admin))
        .route("/users/{user_id}/dm", post(post_dm))
}

/// A person's message content as Discord's client would accept it: 1 to 2000 characters.
/// Discord's usernames are 2 to 32 characters.
pub(super) fn valid_username(name: &str) -> bool {
    (2..=MAX_USERNAME_CHARS).contains(&name.chars().count())
}

pub(super) fn valid_member_content(content: &str) -> bool {
    !content.trim().is_empty() && content.chars().count() <= MAX_CONTENT_CHARS
}

pub(super) fn member_content(content: &str) -> Result<(), Response> {
    if valid_member_content(content) {
        Ok(())
    } else {
        Err(Refusal::BadLength.response())
    }
}

/// Sandbox control: a server admin deletes a channel in Discord's own client.
pub(super) async fn delete_as_admin(
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
pub(super) struct DirectMessage {
    content: String,
}

/// Sandbox control: a user writes to the bot in a direct message (the legacy path). As on
/// Discord, they must share a server with the bot.
pub(super) async fn post_dm(
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

#[derive(Deserialize)]
pub(super) struct NewMember {
    username: String,
}

/// Sandbox control: a person joins the server (a lead, say).
pub(super) async fn add_member(
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
pub(super) async fn give_role(
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
pub(super) struct MemberPost {
    author_id: String,
    content: String,
}

/// Sandbox control: a member posts in a channel (a lead replying).
pub(super) async fn post_as_member(
    State(sandbox): State<Arc<Sandbox>>,
    Path(channel): Path<String>,
    Json(body): Json<MemberPost>,
) -> Result<Response, Response> {
    let c = find(&sandbox, &channel)?;
    let message = post_member_message(&sandbox, &c, id(&body.author_id), &body.content)
        .map_err(|refusal| refusal.response())?;
    Ok((
        StatusCode::CREATED,
        Json(render_message(&sandbox, &message)),
    )
        .into_response())
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
pub(super) struct Seed {
    count: usize,
    parent_id: Option<String>,
}

/// Sandbox control: fills a server (or a category) with channels at once, without the REST
/// route's rate limit, so tests can reach Discord's channel limits quickly.
pub(super) async fn seed_channels(
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

/// Sandbox control: how many REST calls arrived and how many were answered 429.
pub(super) async fn stats(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    let limits = &sandbox.discord.limits;
    Json(json!({ "calls": limits.calls(), "rateLimited": limits.sent_429() }))
}

pub(super) fn server_json(g: &SimGuild) -> Value {
    json!({
        "id": g.id.to_string(),
        "name": g.name,
        "botMember": g.bot_member,
        "ownerId": g.owner_id.to_string(),
        "everyoneRoleId": g.id.to_string(),
        "botRoleId": g.bot_role.map(|r| r.to_string()),
        "roles": g.roles.iter().map(|r| json!({
            "id": r.id.to_string(),
            "name": r.name,
            "permissions": r.permissions.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// Sandbox control: the servers a person can pick on the consent page.
pub(super) async fn list_servers(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    Json(json!({ "items": sandbox.discord.guilds().iter().map(server_json).collect::<Vec<_>>() }))
}

#[derive(Deserialize)]
pub(super) struct NewServer {
    name: String,
}

/// Sandbox control: a new server (for tests and for trying several companies).
pub(super) async fn create_server(
    State(sandbox): State<Arc<Sandbox>>,
    Json(body): Json<NewServer>,
) -> Response {
    let name: String = body.name.trim().chars().take(100).collect();
    if name.len() < 2 {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    }
    (
        StatusCode::CREATED,
        Json(server_json(&sandbox.discord.create_guild(&name))),
    )
        .into_response()
}

/// Sandbox control: a server admin kicks the bot.
pub(super) async fn remove_bot(
    State(sandbox): State<Arc<Sandbox>>,
    Path(guild_id): Path<String>,
) -> Response {
    let mut state = sandbox.discord.lock();
    match guild_id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.guilds.get_mut(&id))
    {
        Some(guild) => {
            guild.bot_member = false;
            let id = guild.id;
            drop(state);
            sandbox.discord.announce_leave(id, false);
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
    }
}

pub(super) async fn get_faults(State(sandbox): State<Arc<Sandbox>>) -> Json<Faults> {
    Json(sandbox.discord.faults())
}

/// Sandbox control: switch faults on or off (the whole set is replaced).
pub(super) async fn set_faults(
    State(sandbox): State<Arc<Sandbox>>,
    Json(faults): Json<Faults>,
) -> Json<Faults> {
    sandbox.discord.limits.set_faults(faults.rest.clone());
    *sandbox
        .discord
        .faults
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = faults.clone();
    Json(faults)
}

/// Sandbox control: a server admin adds the bot back, with the permissions it had.
pub(super) async fn restore_bot(
    State(sandbox): State<Arc<Sandbox>>,
    Path(guild_id): Path<String>,
) -> Response {
    let mut state = sandbox.discord.lock();
    match guild_id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.guilds.get_mut(&id))
    {
        Some(guild) => {
            guild.bot_member = true;
            let id = guild.id;
            drop(state);
            sandbox.discord.announce_join(id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LimitsControl {
    /// Every rate-limit window is divided by this; 1 restores Discord's pace.
    window_divisor: u32,
}

/// Sandbox control: compress rate-limit time for tests of pacing.
pub(super) async fn set_limits(
    State(sandbox): State<Arc<Sandbox>>,
    Json(body): Json<LimitsControl>,
) -> StatusCode {
    sandbox
        .discord
        .limits
        .set_window_divisor(body.window_divisor);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub(super) struct Outage {
    unavailable: bool,
}

/// Sandbox control: a guild becomes unavailable (a Discord outage: GUILD_DELETE with
/// `unavailable: true`) or available again (GUILD_CREATE).
pub(super) async fn outage(
    State(sandbox): State<Arc<Sandbox>>,
    Path(guild_id): Path<String>,
    Json(body): Json<Outage>,
) -> Response {
    let sim = &sandbox.discord;
    let member = guild_id
        .parse::<u64>()
        .ok()
        .and_then(|id| sim.lock().guilds.get(&id).map(|g| (g.id, g.bot_member)));
    match member {
        Some((id, true)) => {
            if body.unavailable {
                sim.announce_leave(id, true);
            } else {
                sim.announce_join(id);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Some((_, false)) => error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
        None => error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
    }
}

/// A member of a simulated server, as the web app's sandbox helpers list them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    pub username: String,
    pub bot: bool,
}

/// The members of a server the bot is in, in the order they joined; `None` for an unknown
/// server.
pub fn members(sandbox: &Sandbox, guild: u64) -> Option<Vec<Member>> {
    sandbox.discord.bot_access(guild)?;
    let bot = sandbox.discord.bot_id().parse::<u64>().ok();
    let mut members = sandbox.discord.channels.members_of(guild);
    members.sort_by_key(|m| (m.joined_at, m.user_id));
    Some(
        members
            .into_iter()
            .map(|m| Member {
                bot: Some(m.user_id) == bot,
                id: m.user_id,
                username: m.username,
            })
            .collect(),
    )
}

/// Someone joins the server with `username` (as [`add_member`] does).
pub fn join(sandbox: &Sandbox, guild: u64, username: &str) -> Result<Member, String> {
    if sandbox.discord.bot_access(guild).is_none() {
        return Err("Unknown Guild".to_owned());
    }
    let username = username.trim();
    if !valid_username(username) {
        return Err("A Discord username is 2 to 32 characters.".to_owned());
    }
    let user_id = sandbox.discord.snowflake();
    let member = sandbox
        .discord
        .channels
        .add_member(guild, user_id, username);
    Ok(Member {
        id: member.user_id,
        username: member.username,
        bot: false,
    })
}

/// A member posts in a channel from Discord's client (as [`post_as_member`] does): the message
/// reaches the bot over the gateway like any other. Returns the new message's id, or why
/// Discord's client would refuse it.
pub fn post_as(sandbox: &Sandbox, channel: u64, author: u64, content: &str) -> Result<u64, String> {
    let channel = sandbox
        .discord
        .channels
        .channel(channel)
        .ok_or_else(|| "Unknown Channel: it no longer exists in the server.".to_owned())?;
    post_member_message(sandbox, &channel, author, content)
        .map(|m| m.id)
        .map_err(|refusal| refusal.text().to_owned())
}

//! The Discord simulator: its state (guilds, roles, the bot's grants, OAuth codes and tokens)
//! and its router. What it simulates is split by subject: OAuth2 (`oauth`), guilds and roles
//! (`guilds`), channels and overwrites (`channels`), messages (`messages`), members
//! (`members`), the sandbox controls (`control`), the simulated client (`chat`) and the gateway
//! (`gateway`); `state` keeps channels, messages and members, `json` gives Discord's shapes.
//!
//! Reference: Discord's OAuth2 documentation (the token endpoint is not in its OpenAPI
//! document) and the official OpenAPI document for the objects.
use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::sandbox::{OAuthApp, Sandbox, random_hex};

pub mod channels;
mod chat;
mod control;

pub use control::{Member, join, members, post_as};
pub mod gateway;
mod guilds;
mod json;
pub mod limits;
mod members;
mod messages;
mod oauth;
pub mod permissions;
pub mod state;

use self::json::error;

/// Discord's API and the sandbox's controls (where slow answers can be injected).
pub fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .merge(oauth::router())
        .merge(guilds::router())
        .merge(channels::router())
        .merge(messages::router())
        .merge(members::router())
        .merge(control::router())
        .merge(gateway::router())
}

/// The simulated Discord client's pages (not Discord's API: never slowed).
pub fn client_router() -> Router<Arc<Sandbox>> {
    chat::router()
}

/// Milliseconds between the Unix epoch and Discord's (2015-01-01).
pub(super) const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

pub(super) const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(604_800);

#[derive(Clone, Debug)]
pub struct SimRole {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
    pub position: i64,
    /// Managed by an integration: the role Discord makes for a bot at install.
    pub managed: bool,
    /// The bot this role belongs to (role tags' `bot_id`).
    pub bot_id: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct SimGuild {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    /// Whether the application's bot is in the guild.
    pub bot_member: bool,
    /// The guild's roles; the first is @everyone, whose id is the guild's.
    pub roles: Vec<SimRole>,
    /// The bot's own managed role, made at its first install. Installing the bot again with
    /// other permissions updates that role, as Discord does.
    pub bot_role: Option<u64>,
}

impl SimGuild {
    pub fn role(&self, id: u64) -> Option<&SimRole> {
        self.roles.iter().find(|r| r.id == id)
    }

    fn everyone(&self) -> u64 {
        self.role(self.id).map_or(0, |r| r.permissions)
    }

    /// The facts Discord computes a member's permissions from (`topics/permissions`).
    pub fn subject(&self, user_id: u64, role_ids: &[u64]) -> permissions::Subject {
        permissions::Subject {
            guild_id: self.id,
            user_id,
            is_owner: user_id == self.owner_id,
            everyone: self.everyone(),
            roles: role_ids
                .iter()
                .filter(|r| **r != self.id)
                .filter_map(|r| self.role(*r).map(|role| (role.id, role.permissions)))
                .collect(),
        }
    }
}

pub(super) struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    guild_id: u64,
    permissions: u64,
    scope: String,
    expires: Instant,
}

pub(super) struct TokenGrant {
    scope: String,
    /// The authorization the token belongs to: a code exchange starts one, a refresh keeps it.
    authorization: u64,
}

#[derive(Default)]
pub(super) struct DiscordState {
    guilds: BTreeMap<u64, SimGuild>,
    codes: HashMap<String, IssuedCode>,
    access: HashMap<String, TokenGrant>,
    refresh: HashMap<String, TokenGrant>,
}

/// Faults a test can switch on, to see the product handle Discord misbehaving.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Token responses leave out the `guild` object.
    pub omit_token_guild: bool,
    /// Latency, forced 429s and 500s on the REST API.
    #[serde(flatten)]
    pub rest: limits::RestFaults,
}

/// The members each of the simulator's starting servers has.
pub const SEEDED_MEMBERS: [&str; 3] = ["grace.hopper", "ada.lovelace", "alan.turing"];

pub struct DiscordSim {
    app: OAuthApp,
    bot_token: String,
    gateway_url: String,
    state: Mutex<DiscordState>,
    sequence: AtomicU64,
    faults: Mutex<Faults>,
    /// Rate limits and REST faults.
    pub limits: limits::Limiter,
    /// Channels, overwrites, messages and members.
    pub channels: state::Channels,
    /// Gateway sessions.
    pub gateway: gateway::Gateway,
}

impl DiscordSim {
    /// `gateway_url`: the WebSocket URL `GET /gateway` hands out.
    pub fn new(app: OAuthApp, bot_token: String, gateway_url: String) -> Self {
        let sim = Self {
            app,
            bot_token,
            gateway_url,
            state: Mutex::new(DiscordState::default()),
            sequence: AtomicU64::new(0),
            faults: Mutex::new(Faults::default()),
            limits: limits::Limiter::default(),
            channels: state::Channels::default(),
            gateway: gateway::Gateway::default(),
        };
        for name in ["Sandbox Server", "Acme Support", "Beta Testers"] {
            let guild = sim.create_guild(name);
            // People to try a first conversation with: a newcomer picks one as a lead (or adds
            // someone). Servers made later through the controls start empty.
            for username in SEEDED_MEMBERS {
                let user_id = sim.snowflake();
                sim.channels.add_member(guild.id, user_id, username);
            }
        }
        sim
    }

    pub fn faults(&self) -> Faults {
        let mut faults = self
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // The REST faults count down as they fire; the limiter holds the live values.
        faults.rest = self.limits.faults();
        faults
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DiscordState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new snowflake: milliseconds since Discord's epoch, then a sequence number.
    pub fn snowflake(&self) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed) & 0xfff;
        (now.saturating_sub(DISCORD_EPOCH_MS) << 22) | seq
    }

    pub fn create_guild(&self, name: &str) -> SimGuild {
        let id = self.snowflake();
        let guild = SimGuild {
            id,
            name: name.to_owned(),
            owner_id: self.snowflake(),
            bot_member: false,
            roles: vec![SimRole {
                id,
                name: "@everyone".to_owned(),
                permissions: permissions::DEFAULT_EVERYONE,
                position: 0,
                managed: false,
                bot_id: None,
            }],
            bot_role: None,
        };
        self.lock().guilds.insert(guild.id, guild.clone());
        guild
    }

    /// Installs the bot in a guild with these permissions, as an approved consent would (for
    /// benchmarks, whose setup is not what they measure).
    pub fn install_bot(&self, guild_id: u64, permissions: u64) {
        let role_id = self.snowflake();
        let bot = self.bot_user_id();
        if let Some(guild) = self.lock().guilds.get_mut(&guild_id) {
            install(guild, role_id, bot, permissions);
        }
    }

    fn bot_user_id(&self) -> u64 {
        self.app.client_id.parse().unwrap_or(0)
    }

    /// The bot's standing in a guild: `None` for an unknown guild, else its guild-level
    /// permissions (`compute_base_permissions`) when it is a member.
    pub fn bot_access(&self, guild_id: u64) -> Option<Option<u64>> {
        self.bot_subject(guild_id)
            .map(|s| s.map(|s| permissions::base(&s)))
    }

    /// The bot as a member of the guild, for permission checks: `None` for an unknown guild,
    /// `Some(None)` when the bot is not in it.
    pub fn bot_subject(&self, guild_id: u64) -> Option<Option<permissions::Subject>> {
        let bot = self.bot_user_id();
        self.lock().guilds.get(&guild_id).map(|g| {
            g.bot_member.then(|| {
                let roles: Vec<u64> = g.bot_role.into_iter().collect();
                g.subject(bot, &roles)
            })
        })
    }

    /// A member of the guild (not the bot), for permission checks.
    pub fn member_subject(&self, guild_id: u64, user_id: u64) -> Option<permissions::Subject> {
        let roles = self.channels.member_roles(guild_id, user_id)?;
        self.lock()
            .guilds
            .get(&guild_id)
            .map(|g| g.subject(user_id, &roles))
    }

    /// Sandbox control: a role's permissions change (a server admin edits it in Discord).
    pub fn set_role_permissions(&self, guild_id: u64, role_id: u64, permissions: u64) -> bool {
        let mut state = self.lock();
        let Some(role) = state
            .guilds
            .get_mut(&guild_id)
            .and_then(|g| g.roles.iter_mut().find(|r| r.id == role_id))
        else {
            return false;
        };
        role.permissions = permissions;
        true
    }

    /// Sandbox control: a new role in the guild.
    pub fn create_role(&self, guild_id: u64, name: &str, permissions: u64) -> Option<SimRole> {
        let id = self.snowflake();
        let mut state = self.lock();
        let guild = state.guilds.get_mut(&guild_id)?;
        let role = SimRole {
            id,
            name: name.to_owned(),
            permissions,
            position: i64::try_from(guild.roles.len()).unwrap_or(1),
            managed: false,
            bot_id: None,
        };
        guild.roles.push(role.clone());
        Some(role)
    }

    /// Checks `Authorization: Bot …` for routes in other modules.
    pub fn authorize_bot(&self, headers: &HeaderMap) -> Result<(), Box<Response>> {
        self.check_bot(headers)
    }

    pub fn bot_id(&self) -> &str {
        &self.app.client_id
    }

    pub fn bot_token(&self) -> &str {
        &self.bot_token
    }

    pub fn gateway_url(&self) -> &str {
        &self.gateway_url
    }

    /// GUILD_CREATE's payload: the guild object plus what the gateway adds to it.
    pub fn guild_create(&self, guild: &SimGuild) -> Value {
        let mut data = guild_json(guild);
        let channels: Vec<Value> = self
            .channels
            .channels_of(guild.id)
            .iter()
            .map(|c| {
                let mut c = json::channel_json(c);
                // Channels in GUILD_CREATE leave out their guild_id.
                if let Some(fields) = c.as_object_mut() {
                    fields.remove("guild_id");
                }
                c
            })
            .collect();
        let members = self.channels.members_of(guild.id);
        for (field, value) in [
            ("joined_at", json!(state::timestamp(chrono::Utc::now()))),
            ("large", json!(false)),
            ("unavailable", json!(false)),
            ("member_count", json!(members.len() + 1)),
            ("voice_states", json!([])),
            ("members", json!([])),
            ("channels", json!(channels)),
            ("threads", json!([])),
            ("presences", json!([])),
            ("stage_instances", json!([])),
            ("guild_scheduled_events", json!([])),
            ("soundboard_sounds", json!([])),
        ] {
            data[field] = value;
        }
        data
    }

    /// The bot joined a guild (install, or added back): GUILD_CREATE.
    fn announce_join(&self, guild_id: u64) {
        let guild = self.lock().guilds.get(&guild_id).cloned();
        if let Some(guild) = guild {
            let data = self.guild_create(&guild);
            self.gateway.dispatch(
                "GUILD_CREATE",
                Some(guild.id),
                gateway::intents::GUILDS,
                &data,
            );
        }
    }

    /// The bot left a guild (`unavailable: false`) or the guild has an outage (`true`):
    /// GUILD_DELETE. Discord leaves `unavailable` out when the bot was removed.
    fn announce_leave(&self, guild_id: u64, unavailable: bool) {
        let mut data = json!({ "id": guild_id.to_string() });
        if unavailable {
            data["unavailable"] = json!(true);
        }
        self.gateway.dispatch(
            "GUILD_DELETE",
            Some(guild_id),
            gateway::intents::GUILDS,
            &data,
        );
    }

    /// The application's bot user, as `GET /users/@me` answers for it.
    pub fn bot_user(&self) -> Value {
        json!({
            "id": self.app.client_id,
            "username": "Switchboard",
            "avatar": null,
            "discriminator": "0",
            "public_flags": 0,
            "flags": 0,
            "bot": true,
            "banner": null,
            "accent_color": null,
            "global_name": null,
            "avatar_decoration_data": null,
            "collectibles": null,
            "primary_guild": null,
            "mfa_enabled": true,
            "locale": "en-US",
            "premium_type": 0,
            "email": null,
            "verified": true,
        })
    }

    pub fn guilds(&self) -> Vec<SimGuild> {
        self.lock().guilds.values().cloned().collect()
    }

    /// The preamble of a bot route with the default limit: the bot token, then the route's
    /// rate limit (`major` is the top-level resource id, or empty).
    async fn bot_route(
        &self,
        headers: &HeaderMap,
        route: &str,
        major: &str,
    ) -> Result<limits::Allowed, Response> {
        self.check_bot(headers).map_err(|r| *r)?;
        self.limits
            .check(route, major, limits::routes::DEFAULT, headers)
            .await
    }

    fn check_bot(&self, headers: &HeaderMap) -> Result<(), Box<Response>> {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bot "));
        use subtle::ConstantTimeEq;
        match presented {
            Some(token) if bool::from(token.as_bytes().ct_eq(self.bot_token.as_bytes())) => Ok(()),
            _ => Err(Box::new(error(
                StatusCode::UNAUTHORIZED,
                0,
                "401: Unauthorized",
            ))),
        }
    }
}

/// Joining a guild: Discord gives the bot a managed role holding the permissions granted at
/// install (or updates the one it has).
pub(super) fn install(guild: &mut SimGuild, new_role_id: u64, bot: u64, permissions: u64) {
    guild.bot_member = true;
    match guild
        .bot_role
        .and_then(|id| guild.roles.iter_mut().find(|r| r.id == id))
    {
        Some(role) => role.permissions = permissions,
        None => {
            let position = i64::try_from(guild.roles.len()).unwrap_or(1);
            guild.roles.push(SimRole {
                id: new_role_id,
                name: "Switchboard".to_owned(),
                permissions,
                position,
                managed: true,
                bot_id: Some(bot),
            });
            guild.bot_role = Some(new_role_id);
        }
    }
}

/// A role object (`topics/permissions`, "Role Object"), permissions as a string.
pub(super) fn role_json(role: &SimRole) -> Value {
    let mut v = json!({
        "id": role.id.to_string(),
        "name": role.name,
        "permissions": role.permissions.to_string(),
        "position": role.position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "managed": role.managed,
        "mentionable": false,
        "icon": null,
        "unicode_emoji": null,
        "flags": 0
    });
    if let Some(bot) = role.bot_id {
        v["tags"] = json!({ "bot_id": bot.to_string() });
    }
    v
}

/// The guild object, with every field Discord's `GuildResponse` schema requires.
pub fn guild_json(guild: &SimGuild) -> Value {
    json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "icon": null,
        "description": null,
        "home_header": null,
        "splash": null,
        "discovery_splash": null,
        "features": [],
        "banner": null,
        "owner_id": guild.owner_id.to_string(),
        "application_id": null,
        "region": "deprecated",
        "afk_channel_id": null,
        "afk_timeout": 300,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 0,
        "roles": guild.roles.iter().map(role_json).collect::<Vec<_>>(),
        "default_message_notifications": 0,
        "mfa_level": 0,
        "explicit_content_filter": 0,
        "max_presences": null,
        "max_members": 500_000,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "vanity_url_code": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "rules_channel_id": null,
        "safety_alerts_channel_id": null,
        "public_updates_channel_id": null,
        "premium_progress_bar_enabled": false,
        "nsfw": false,
        "nsfw_level": 0,
        "emojis": [],
        "stickers": [],
        "incidents_data": null,
    })
}

//! Discord's OAuth2 bot install and the REST routes the product uses so far.
//!
//! Reference: Discord's OAuth2 documentation (the token endpoint is not in its OpenAPI
//! document) and the official OpenAPI document for the guild object.
use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{delete, get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{CODE_TTL, OAuthApp, Sandbox, expired, limits, page, permissions, random_hex};

/// Milliseconds between the Unix epoch and Discord's (2015-01-01).
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(604_800);

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

struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    guild_id: u64,
    permissions: u64,
    scope: String,
    expires: Instant,
}

struct TokenGrant {
    scope: String,
    /// The authorization the token belongs to: a code exchange starts one, a refresh keeps it.
    authorization: u64,
}

#[derive(Default)]
struct DiscordState {
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
    pub rest: super::limits::RestFaults,
}

pub struct DiscordSim {
    app: OAuthApp,
    bot_token: String,
    gateway_url: String,
    state: Mutex<DiscordState>,
    sequence: AtomicU64,
    faults: Mutex<Faults>,
    /// Rate limits and REST faults.
    pub limits: super::limits::Limiter,
    /// Channels, overwrites, messages and members.
    pub channels: super::channels::Channels,
    /// Gateway sessions.
    pub gateway: super::gateway::Gateway,
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
            limits: super::limits::Limiter::default(),
            channels: super::channels::Channels::default(),
            gateway: super::gateway::Gateway::default(),
        };
        for name in ["Sandbox Server", "Acme Support", "Beta Testers"] {
            sim.create_guild(name);
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
                let mut c = super::channels::channel_json(c);
                // Channels in GUILD_CREATE leave out their guild_id.
                if let Some(fields) = c.as_object_mut() {
                    fields.remove("guild_id");
                }
                c
            })
            .collect();
        let members = self.channels.members_of(guild.id);
        for (field, value) in [
            (
                "joined_at",
                json!(super::channels::timestamp(chrono::Utc::now())),
            ),
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
                super::gateway::intents::GUILDS,
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
            super::gateway::intents::GUILDS,
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
            _ => Err(Box::new(discord_error(
                StatusCode::UNAUTHORIZED,
                0,
                "401: Unauthorized",
            ))),
        }
    }
}

/// Discord's JSON error body: `{"message": …, "code": …}`.
fn discord_error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(json!({ "message": message, "code": code }))).into_response()
}

/// An OAuth2 error body (RFC 6749 §5.2), which Discord's token endpoint answers with.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Joining a guild: Discord gives the bot a managed role holding the permissions granted at
/// install (or updates the one it has).
fn install(guild: &mut SimGuild, new_role_id: u64, bot: u64, permissions: u64) {
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
fn role_json(role: &SimRole) -> Value {
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

pub fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route(
            "/oauth2/authorize",
            get(consent_page).post(consent_decision),
        )
        .route("/api/v10/oauth2/token", post(token))
        .route("/api/v10/oauth2/token/revoke", post(revoke))
        .route("/api/v10/guilds/{guild_id}", get(get_guild))
        .route("/api/v10/users/@me", get(current_user))
        .route("/api/v10/users/@me/guilds/{guild_id}", delete(leave_guild))
        .route("/servers/{guild_id}/roles", post(create_role))
        .route(
            "/servers/{guild_id}/roles/{role_id}",
            axum::routing::patch(edit_role),
        )
        .route("/stats", get(stats))
        .route("/servers", get(list_servers).post(create_server))
        .route(
            "/servers/{guild_id}/bot",
            delete(remove_bot).put(restore_bot),
        )
        .route("/servers/{guild_id}/outage", post(outage))
        .route("/faults", get(get_faults).put(set_faults))
        .route("/limits", axum::routing::put(set_limits))
}

#[derive(Debug, Default, Deserialize)]
struct AuthorizeParams {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    permissions: Option<String>,
    integration_type: Option<String>,
    /// From the consent form.
    guild_id: Option<String>,
    decision: Option<String>,
}

/// Validates an authorize request the way Discord does: problems with the client or the
/// redirect URI are shown on the page (never redirected to an unverified address).
fn validate(app: &OAuthApp, p: &AuthorizeParams) -> Result<(String, String), Box<Response>> {
    let error_page = |message: &str| {
        Box::new(
            (
                StatusCode::BAD_REQUEST,
                page::render(
                    "Discord",
                    "Sandbox Discord",
                    &format!("<h1>Invalid request</h1><p>{}</p>", page::escape(message)),
                ),
            )
                .into_response(),
        )
    };
    if p.client_id.as_deref() != Some(app.client_id.as_str()) {
        return Err(error_page("Unknown Application"));
    }
    let redirect = p.redirect_uri.clone().unwrap_or_default();
    if !app.redirect_uris.contains(&redirect) {
        return Err(error_page("Invalid OAuth2 redirect_uri"));
    }
    if p.response_type.as_deref() != Some("code") {
        return Err(error_page("Invalid response_type: expected `code`"));
    }
    let scope = p.scope.clone().unwrap_or_default();
    if !scope.split(' ').any(|s| s == "bot") {
        return Err(error_page(
            "This sandbox only installs bots: scope must include `bot`",
        ));
    }
    Ok((redirect, scope))
}

async fn consent_page(
    State(sandbox): State<Arc<Sandbox>>,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    let sim = &sandbox.discord;
    if let Err(page) = validate(&sim.app, &p) {
        return *page;
    }
    let permissions: u64 = p
        .permissions
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let options: String = sim
        .guilds()
        .iter()
        .map(|g| {
            format!(
                r#"<option value="{}">{}</option>"#,
                g.id,
                page::escape(&g.name)
            )
        })
        .collect();
    let mut hidden = String::new();
    for (name, value) in [
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("response_type", &p.response_type),
        ("scope", &p.scope),
        ("state", &p.state),
        ("permissions", &p.permissions),
        ("integration_type", &p.integration_type),
    ] {
        if let Some(value) = value {
            hidden.push_str(&page::hidden(name, value));
        }
    }
    let body = format!(
        r#"<h1>Add Switchboard to a server</h1>
<p>An external application wants to join a server as a bot, with permissions <code>{permissions}</code>.</p>
<form method="post" action="authorize">
{hidden}
<label for="guild_id">Add to server</label>
<select id="guild_id" name="guild_id">{options}</select>
<button type="submit" name="decision" value="approve">Authorize</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form>"#
    );
    page::render(
        "Discord · Authorize",
        "Sandbox Discord — not the real Discord",
        &body,
    )
    .into_response()
}

async fn consent_decision(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let sim = &sandbox.discord;
    let p: AuthorizeParams = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let (redirect, scope) = match validate(&sim.app, &p) {
        Ok(v) => v,
        Err(page) => return *page,
    };
    let mut target = match url::Url::parse(&redirect) {
        Ok(url) => url,
        Err(_) => return discord_error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"),
    };
    {
        let mut query = target.query_pairs_mut();
        if p.decision.as_deref() != Some("approve") {
            query.append_pair("error", "access_denied");
            query.append_pair(
                "error_description",
                "The resource owner or authorization server denied the request",
            );
        } else {
            let guild = p
                .guild_id
                .as_deref()
                .and_then(|g| g.parse::<u64>().ok())
                .filter(|g| sim.lock().guilds.contains_key(g));
            let Some(guild_id) = guild else {
                drop(query);
                return discord_error(StatusCode::BAD_REQUEST, 10004, "Unknown Guild");
            };
            let code = random_hex(15);
            sim.lock().codes.insert(
                code.clone(),
                IssuedCode {
                    client_id: sim.app.client_id.clone(),
                    redirect_uri: redirect.clone(),
                    guild_id,
                    permissions: p
                        .permissions
                        .as_deref()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0),
                    scope,
                    expires: Instant::now() + CODE_TTL,
                },
            );
            query.append_pair("code", &code);
            query.append_pair("guild_id", &guild_id.to_string());
            query.append_pair("permissions", p.permissions.as_deref().unwrap_or("0"));
        }
        if let Some(state) = &p.state {
            query.append_pair("state", state);
        }
    }
    Redirect::to(target.as_str()).into_response()
}

async fn token(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let sim = &sandbox.discord;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !sim.app.authenticates(&headers, &form) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Invalid client");
    }
    let mut state = sim.lock();
    let (guild_id, scope, authorization) = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = form.get("code") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing \"code\" in request.",
                );
            };
            // Single use: the code is gone whatever happens next.
            let Some(issued) = state.codes.remove(code).filter(|c| !expired(c.expires)) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid \"code\" in request.",
                );
            };
            if issued.client_id != sim.app.client_id {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid \"code\" in request.",
                );
            }
            if form.get("redirect_uri") != Some(&issued.redirect_uri) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid \"redirect_uri\" in request.",
                );
            }
            let role_id = sim.snowflake();
            let bot = sim.bot_user_id();
            if let Some(guild) = state.guilds.get_mut(&issued.guild_id) {
                install(guild, role_id, bot, issued.permissions);
            }
            (Some(issued.guild_id), issued.scope, sim.snowflake())
        }
        Some("refresh_token") => {
            let Some(grant) = form
                .get("refresh_token")
                .and_then(|t| state.refresh.remove(t))
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid \"refresh_token\" in request.",
                );
            };
            (None, grant.scope, grant.authorization)
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant type",
            );
        }
    };
    let (access, refresh) = (random_hex(15), random_hex(15));
    let grant = || TokenGrant {
        scope: scope.clone(),
        authorization,
    };
    state.access.insert(access.clone(), grant());
    state.refresh.insert(refresh.clone(), grant());
    let mut response = json!({
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": ACCESS_TOKEN_TTL.as_secs(),
        "refresh_token": refresh,
        "scope": scope,
    });
    let omit_guild = sim.faults().omit_token_guild;
    if let Some(guild) = guild_id
        .and_then(|g| state.guilds.get(&g))
        .filter(|_| !omit_guild)
    {
        response["guild"] = guild_json(guild);
    }
    drop(state);
    if let Some(guild) = guild_id {
        sim.announce_join(guild);
    }
    Json(response).into_response()
}

async fn revoke(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let sim = &sandbox.discord;
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !sim.app.authenticates(&headers, &form) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Invalid client");
    }
    let Some(token) = form.get("token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing \"token\" in request.",
        );
    };
    let mut state = sim.lock();
    // Token Revocation (`topics/oauth2`): revoking one token revokes every access and refresh
    // token of its authorization.
    let authorization = state
        .access
        .get(token)
        .or_else(|| state.refresh.get(token))
        .map(|g| g.authorization);
    if let Some(authorization) = authorization {
        state.access.retain(|_, g| g.authorization != authorization);
        state
            .refresh
            .retain(|_, g| g.authorization != authorization);
    }
    // RFC 7009: an unknown token is not an error.
    Json(json!({})).into_response()
}

async fn get_guild(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(guild_id): Path<String>,
) -> Response {
    let sim = &sandbox.discord;
    let allowed = match sim
        .bot_route(&headers, "guilds/{guild_id}", &guild_id)
        .await
    {
        Ok(allowed) => allowed,
        Err(refused) => return refused,
    };
    let response = {
        let state = sim.lock();
        match guild_id
            .parse::<u64>()
            .ok()
            .and_then(|id| state.guilds.get(&id))
        {
            None => discord_error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
            Some(guild) if !guild.bot_member => {
                discord_error(StatusCode::FORBIDDEN, 50001, "Missing Access")
            }
            Some(guild) => Json(guild_json(guild)).into_response(),
        }
    };
    allowed.apply(response)
}

/// The bot's own user.
async fn current_user(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap) -> Response {
    let sim = &sandbox.discord;
    match sim.bot_route(&headers, "users/@me", "").await {
        Ok(allowed) => allowed.apply(Json(sim.bot_user()).into_response()),
        Err(refused) => refused,
    }
}

/// Leave Guild (`DELETE /users/@me/guilds/{guild.id}` in Discord's OpenAPI document): the bot
/// leaves; 204, then GUILD_DELETE without `unavailable`, as for a bot that was removed.
async fn leave_guild(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(guild_id): Path<String>,
) -> Response {
    let sim = &sandbox.discord;
    let allowed = match sim
        .bot_route(&headers, "users/@me/guilds/{guild_id}:delete", "")
        .await
    {
        Ok(allowed) => allowed,
        Err(refused) => return refused,
    };
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
    match left {
        Some(id) => {
            sim.announce_leave(id, false);
            allowed.apply(StatusCode::NO_CONTENT.into_response())
        }
        None => allowed.apply(discord_error(StatusCode::NOT_FOUND, 10004, "Unknown Guild")),
    }
}

#[derive(Deserialize)]
struct RoleBody {
    name: Option<String>,
    permissions: Value,
}

/// A permission bit set as Discord takes it: a string (documentation) or a number (spec).
fn permission_bits(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Sandbox control: a server admin adds a role.
async fn create_role(
    State(sandbox): State<Arc<Sandbox>>,
    Path(guild_id): Path<String>,
    Json(body): Json<RoleBody>,
) -> Response {
    let Some(bits) = permission_bits(&body.permissions) else {
        return discord_error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    let name = body.name.unwrap_or_else(|| "new role".to_owned());
    match sandbox
        .discord
        .create_role(super::channels::id(&guild_id), &name, bits)
    {
        Some(role) => (StatusCode::CREATED, Json(role_json(&role))).into_response(),
        None => discord_error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
    }
}

/// Sandbox control: a server admin edits a role's permissions (@everyone's id is the guild's;
/// the bot's role id is `botRoleId` in the server list).
async fn edit_role(
    State(sandbox): State<Arc<Sandbox>>,
    Path((guild_id, role_id)): Path<(String, String)>,
    Json(body): Json<RoleBody>,
) -> Response {
    let Some(bits) = permission_bits(&body.permissions) else {
        return discord_error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    let (guild, role) = (
        super::channels::id(&guild_id),
        super::channels::id(&role_id),
    );
    if sandbox.discord.set_role_permissions(guild, role, bits) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        discord_error(StatusCode::NOT_FOUND, 10011, "Unknown Role")
    }
}

/// Sandbox control: how many REST calls arrived and how many were answered 429.
async fn stats(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    let limits = &sandbox.discord.limits;
    Json(json!({ "calls": limits.calls(), "rateLimited": limits.sent_429() }))
}

fn server_json(g: &SimGuild) -> Value {
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
async fn list_servers(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    Json(json!({ "items": sandbox.discord.guilds().iter().map(server_json).collect::<Vec<_>>() }))
}

#[derive(Deserialize)]
struct NewServer {
    name: String,
}

/// Sandbox control: a new server (for tests and for trying several companies).
async fn create_server(
    State(sandbox): State<Arc<Sandbox>>,
    Json(body): Json<NewServer>,
) -> Response {
    let name: String = body.name.trim().chars().take(100).collect();
    if name.len() < 2 {
        return discord_error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    }
    (
        StatusCode::CREATED,
        Json(server_json(&sandbox.discord.create_guild(&name))),
    )
        .into_response()
}

/// Sandbox control: a server admin kicks the bot.
async fn remove_bot(State(sandbox): State<Arc<Sandbox>>, Path(guild_id): Path<String>) -> Response {
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
        None => discord_error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
    }
}

async fn get_faults(State(sandbox): State<Arc<Sandbox>>) -> Json<Faults> {
    Json(sandbox.discord.faults())
}

/// Sandbox control: switch faults on or off (the whole set is replaced).
async fn set_faults(
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
async fn restore_bot(
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
        None => discord_error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LimitsControl {
    /// Every rate-limit window is divided by this; 1 restores Discord's pace.
    window_divisor: u32,
}

/// Sandbox control: compress rate-limit time for tests of pacing.
async fn set_limits(
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
struct Outage {
    unavailable: bool,
}

/// Sandbox control: a guild becomes unavailable (a Discord outage: GUILD_DELETE with
/// `unavailable: true`) or available again (GUILD_CREATE).
async fn outage(
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
        Some((_, false)) => discord_error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
        None => discord_error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
    }
}

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

use super::{CODE_TTL, OAuthApp, Sandbox, expired, limits, page, random_hex};

/// Milliseconds between the Unix epoch and Discord's (2015-01-01).
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(604_800);

#[derive(Clone, Debug)]
pub struct SimGuild {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    /// Whether the application's bot is in the guild.
    pub bot_member: bool,
    /// The permissions granted to the bot at install.
    pub bot_permissions: u64,
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
        let guild = SimGuild {
            id: self.snowflake(),
            name: name.to_owned(),
            owner_id: self.snowflake(),
            bot_member: false,
            bot_permissions: 0,
        };
        self.lock().guilds.insert(guild.id, guild.clone());
        guild
    }

    /// Installs the bot in a guild with these permissions, as an approved consent would (for
    /// benchmarks, whose setup is not what they measure).
    pub fn install_bot(&self, guild_id: u64, permissions: u64) {
        if let Some(guild) = self.lock().guilds.get_mut(&guild_id) {
            guild.bot_member = true;
            guild.bot_permissions = permissions;
        }
    }

    /// The bot's standing in a guild: `None` for an unknown guild, else its granted permissions
    /// when it is a member.
    pub fn bot_access(&self, guild_id: u64) -> Option<Option<u64>> {
        self.lock()
            .guilds
            .get(&guild_id)
            .map(|g| g.bot_member.then_some(g.bot_permissions))
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
        "roles": [{
            "id": guild.id.to_string(),
            "name": "@everyone",
            "permissions": "2222085186637376",
            "position": 0,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
            "hoist": false,
            "managed": false,
            "mentionable": false,
            "icon": null,
            "unicode_emoji": null,
            "flags": 0
        }],
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
    let (guild_id, scope) = match form.get("grant_type").map(String::as_str) {
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
            if let Some(guild) = state.guilds.get_mut(&issued.guild_id) {
                guild.bot_member = true;
                guild.bot_permissions = issued.permissions;
            }
            (Some(issued.guild_id), issued.scope)
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
            (None, grant.scope)
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
    state.access.remove(token);
    state.refresh.remove(token);
    // RFC 7009: an unknown token is not an error.
    Json(json!({})).into_response()
}

async fn get_guild(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(guild_id): Path<String>,
) -> Response {
    let sim = &sandbox.discord;
    if let Err(denied) = sim.check_bot(&headers) {
        return *denied;
    }
    let allowed = match sim
        .limits
        .check(
            "guilds/{guild_id}",
            &guild_id,
            limits::routes::DEFAULT,
            &headers,
        )
        .await
    {
        Ok(allowed) => allowed,
        Err(limited) => return limited,
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
    if let Err(denied) = sim.check_bot(&headers) {
        return *denied;
    }
    match sim
        .limits
        .check("users/@me", "", limits::routes::DEFAULT, &headers)
        .await
    {
        Ok(allowed) => allowed.apply(Json(sim.bot_user()).into_response()),
        Err(limited) => limited,
    }
}

/// Sandbox control: how many REST calls arrived and how many were answered 429.
async fn stats(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    let limits = &sandbox.discord.limits;
    Json(json!({ "calls": limits.calls(), "rateLimited": limits.sent_429() }))
}

fn server_json(g: &SimGuild) -> Value {
    json!({ "id": g.id.to_string(), "name": g.name, "botMember": g.bot_member })
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

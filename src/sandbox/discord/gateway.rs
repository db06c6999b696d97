//! Discord's gateway (API v10, JSON encoding, no transport compression), as the sandbox's
//! WebSocket endpoint.
//!
//! Reference: Discord's "Gateway" and "Gateway Events" documentation. A connection gets HELLO,
//! must IDENTIFY (token, intents, shard) or RESUME, heartbeats are ACKed, and every event the
//! simulated platform produces is dispatched with an increasing sequence number to the sessions
//! entitled to it: MESSAGE_CREATE needs GUILD_MESSAGES (or DIRECT_MESSAGES), and its content is
//! withheld without the privileged MESSAGE_CONTENT intent unless the bot wrote or is mentioned
//! in the message, as Discord does. A session outlives its connection: events dispatched while
//! it is disconnected are kept and replayed on RESUME. Tests can drop connections, invalidate
//! sessions, ask for a reconnect and refuse new connections for a while.
use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{
        Query, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Sandbox, limits};

/// Gateway intents the simulator understands (Discord's bit values).
pub mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    /// Privileged: without it, message content is withheld.
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
    /// Every intent Discord defines in API v10 (bits 0–25, some unused).
    pub const ALL: u64 = (1 << 26) - 1;
}

/// Discord's close codes that the simulator sends.
pub mod close {
    pub const UNKNOWN_ERROR: u16 = 4000;
    pub const UNKNOWN_OPCODE: u16 = 4001;
    pub const DECODE_ERROR: u16 = 4002;
    pub const NOT_AUTHENTICATED: u16 = 4003;
    pub const AUTHENTICATION_FAILED: u16 = 4004;
    pub const ALREADY_AUTHENTICATED: u16 = 4005;
    pub const INVALID_SEQ: u16 = 4007;
    pub const SESSION_TIMED_OUT: u16 = 4009;
    pub const INVALID_SHARD: u16 = 4010;
    pub const INVALID_API_VERSION: u16 = 4012;
    pub const INVALID_INTENTS: u16 = 4013;
}

/// Opcodes (Discord's "Gateway Opcodes" table).
mod op {
    pub const DISPATCH: u64 = 0;
    pub const HEARTBEAT: u64 = 1;
    pub const IDENTIFY: u64 = 2;
    pub const PRESENCE_UPDATE: u64 = 3;
    pub const VOICE_STATE_UPDATE: u64 = 4;
    pub const RESUME: u64 = 6;
    pub const RECONNECT: u64 = 7;
    pub const REQUEST_GUILD_MEMBERS: u64 = 8;
    pub const INVALID_SESSION: u64 = 9;
    pub const HELLO: u64 = 10;
    pub const HEARTBEAT_ACK: u64 = 11;
    pub const REQUEST_SOUNDBOARD_SOUNDS: u64 = 31;
}

/// Discord's heartbeat interval.
pub const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// How long a client has to IDENTIFY or RESUME after HELLO.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(45);
/// Events kept per session for RESUME; older ones make a resume fail with INVALID_SESSION.
const REPLAY_BUFFER: usize = 10_000;
/// Sessions that stay disconnected this long are forgotten, as Discord's expire.
const SESSION_TTL: Duration = Duration::from_secs(5 * 60);

enum Outgoing {
    Text(String),
    Close(u16, &'static str),
}

struct Session {
    shard: (u64, u64),
    intents: u64,
    seq: u64,
    /// `(seq, frame)` of recent dispatches, for RESUME.
    buffer: VecDeque<(u64, String)>,
    /// The connection currently serving this session.
    live: Option<(u64, mpsc::UnboundedSender<Outgoing>)>,
    disconnected_at: Option<Instant>,
}

impl Session {
    fn covers(&self, guild_id: Option<u64>) -> bool {
        let (id, total) = self.shard;
        match guild_id {
            // Discord's sharding formula; DMs go to shard 0.
            Some(guild) => (guild >> 22) % total.max(1) == id,
            None => id == 0,
        }
    }

    fn push(&mut self, name: &str, data: &Value) {
        self.seq += 1;
        let frame = json!({ "op": op::DISPATCH, "t": name, "s": self.seq, "d": data }).to_string();
        if self.buffer.len() == REPLAY_BUFFER {
            self.buffer.pop_front();
        }
        self.buffer.push_back((self.seq, frame.clone()));
        if let Some((_, tx)) = &self.live {
            let _ = tx.send(Outgoing::Text(frame));
        }
    }
}

/// What a session receives of one message: content and the like only with MESSAGE_CONTENT,
/// or when the bot wrote the message or is mentioned in it.
pub struct MessageEvent {
    pub guild_id: Option<u64>,
    pub data: Value,
    pub by_bot: bool,
    pub mentions_bot: bool,
}

#[derive(Default)]
pub struct Gateway {
    sessions: Mutex<HashMap<String, Session>>,
    refuse_until: Mutex<Option<Instant>>,
    next_connection: AtomicU64,
    connections: AtomicU64,
    identifies: AtomicU64,
    resumes: AtomicU64,
}

impl Gateway {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn forget_expired(sessions: &mut HashMap<String, Session>) {
        sessions.retain(|_, s| {
            s.disconnected_at
                .is_none_or(|at| at.elapsed() < SESSION_TTL)
        });
    }

    /// Dispatches an event to every session whose shard covers the guild and whose intents
    /// include `intent`.
    pub fn dispatch(&self, name: &str, guild_id: Option<u64>, intent: u64, data: &Value) {
        let mut sessions = self.lock();
        for session in sessions.values_mut() {
            if session.intents & intent != 0 && session.covers(guild_id) {
                session.push(name, data);
            }
        }
    }

    /// MESSAGE_CREATE, with content withheld from sessions without the MESSAGE_CONTENT intent.
    pub fn dispatch_message(&self, event: &MessageEvent) {
        let needed = if event.guild_id.is_some() {
            intents::GUILD_MESSAGES
        } else {
            intents::DIRECT_MESSAGES
        };
        let mut withheld = event.data.clone();
        for (field, empty) in [
            ("content", json!("")),
            ("embeds", json!([])),
            ("attachments", json!([])),
            ("components", json!([])),
        ] {
            withheld[field] = empty;
        }
        let exempt = event.by_bot || event.mentions_bot || event.guild_id.is_none();
        let mut sessions = self.lock();
        for session in sessions.values_mut() {
            if session.intents & needed == 0 || !session.covers(event.guild_id) {
                continue;
            }
            if exempt || session.intents & intents::MESSAGE_CONTENT != 0 {
                session.push("MESSAGE_CREATE", &event.data);
            } else {
                session.push("MESSAGE_CREATE", &withheld);
            }
        }
    }

    fn refusing(&self) -> bool {
        self.refuse_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|until| Instant::now() < until)
    }

    fn status(&self) -> Value {
        let sessions = self.lock();
        let list: Vec<Value> = sessions
            .iter()
            .map(|(id, s)| {
                json!({
                    "sessionId": id,
                    "shard": [s.shard.0, s.shard.1],
                    "intents": s.intents,
                    "seq": s.seq,
                    "connected": s.live.is_some(),
                })
            })
            .collect();
        json!({
            "sessions": list,
            "connections": self.connections.load(Ordering::Relaxed),
            "identifies": self.identifies.load(Ordering::Relaxed),
            "resumes": self.resumes.load(Ordering::Relaxed),
            "refusing": self.refusing(),
        })
    }
}

pub fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/api/v10/gateway", get(get_gateway))
        .route("/api/v10/gateway/bot", get(get_gateway_bot))
        .route("/gateway", get(connect))
        .route("/gateway/status", get(status))
        .route("/gateway/disconnect", post(disconnect))
        .route("/gateway/dispatch", post(forge))
}

/// `GET /gateway`: no authentication, just the URL.
async fn get_gateway(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    Json(json!({ "url": sandbox.discord.gateway_url() }))
}

/// `GET /gateway/bot`: the URL, the recommended shard count and the session start limit.
async fn get_gateway_bot(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap) -> Response {
    let sim = &sandbox.discord;
    if let Err(denied) = sim.authorize_bot(&headers) {
        return *denied;
    }
    match sim
        .limits
        .check("gateway/bot", "", limits::routes::DEFAULT, &headers)
        .await
    {
        Ok(allowed) => allowed.apply(
            Json(json!({
                "url": sim.gateway_url(),
                // Discord recommends one shard per 1,000 guilds; the sandbox has a handful.
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000u64.saturating_sub(sim.gateway.identifies.load(Ordering::Relaxed)),
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }))
            .into_response(),
        ),
        Err(limited) => limited,
    }
}

#[derive(Deserialize)]
struct ConnectParams {
    v: Option<String>,
    encoding: Option<String>,
    compress: Option<String>,
}

async fn connect(
    State(sandbox): State<Arc<Sandbox>>,
    Query(params): Query<ConnectParams>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if sandbox.discord.gateway.refusing() {
        return (StatusCode::SERVICE_UNAVAILABLE, "gateway unavailable").into_response();
    }
    upgrade.on_upgrade(move |socket| serve(sandbox, params, socket))
}

fn frame(op: u64, d: &Value) -> String {
    json!({ "op": op, "d": d, "s": null, "t": null }).to_string()
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

/// Reads the next JSON payload, answering heartbeats that come before it.
async fn next_payload(socket: &mut WebSocket) -> Result<Value, (u16, &'static str)> {
    loop {
        let message = match socket.recv().await {
            Some(Ok(message)) => message,
            _ => return Err((0, "")),
        };
        let text = match message {
            Message::Text(text) => text.to_string(),
            Message::Binary(_) => {
                return Err((close::DECODE_ERROR, "Error while decoding payload."));
            }
            Message::Close(_) => return Err((0, "")),
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let Ok(payload) = serde_json::from_str::<Value>(&text) else {
            return Err((close::DECODE_ERROR, "Error while decoding payload."));
        };
        return Ok(payload);
    }
}

fn token_matches(presented: Option<&str>, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    presented
        .map(|t| t.strip_prefix("Bot ").unwrap_or(t))
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(expected.as_bytes())))
}

async fn serve(sandbox: Arc<Sandbox>, params: ConnectParams, mut socket: WebSocket) {
    let gateway = &sandbox.discord.gateway;
    gateway.connections.fetch_add(1, Ordering::Relaxed);
    if params.v.as_deref() != Some("10") {
        return close(
            &mut socket,
            close::INVALID_API_VERSION,
            "Invalid API version.",
        )
        .await;
    }
    if params.encoding.as_deref().is_some_and(|e| e != "json") || params.compress.is_some() {
        // The simulator speaks JSON without transport compression, what the product asks for.
        return close(
            &mut socket,
            close::DECODE_ERROR,
            "Error while decoding payload.",
        )
        .await;
    }
    if socket
        .send(Message::Text(
            frame(
                op::HELLO,
                &json!({ "heartbeat_interval": HEARTBEAT_INTERVAL_MS }),
            )
            .into(),
        ))
        .await
        .is_err()
    {
        return;
    }
    let (session_id, rx) = loop {
        let payload = match tokio::time::timeout(HANDSHAKE_TIMEOUT, next_payload(&mut socket)).await
        {
            Ok(Ok(payload)) => payload,
            Ok(Err((0, _))) => return,
            Ok(Err((code, reason))) => return close(&mut socket, code, reason).await,
            Err(_) => {
                return close(&mut socket, close::SESSION_TIMED_OUT, "Session timed out.").await;
            }
        };
        match payload.get("op").and_then(Value::as_u64) {
            Some(op::HEARTBEAT) => {
                if socket
                    .send(Message::Text(frame(op::HEARTBEAT_ACK, &Value::Null).into()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Some(op::IDENTIFY) => match identify(&sandbox, &payload["d"]) {
                Ok(started) => break started,
                Err((code, reason)) => return close(&mut socket, code, reason).await,
            },
            Some(op::RESUME) => match resume(&sandbox, &payload["d"]) {
                Ok(Some(resumed)) => break resumed,
                Ok(None) => {
                    // Discord answers INVALID_SESSION (not resumable) and waits for IDENTIFY.
                    let _ = socket
                        .send(Message::Text(
                            frame(op::INVALID_SESSION, &json!(false)).into(),
                        ))
                        .await;
                }
                Err((code, reason)) => return close(&mut socket, code, reason).await,
            },
            Some(_) => {
                return close(&mut socket, close::NOT_AUTHENTICATED, "Not authenticated.").await;
            }
            None => {
                return close(
                    &mut socket,
                    close::DECODE_ERROR,
                    "Error while decoding payload.",
                )
                .await;
            }
        }
    };
    run_session(&sandbox, &session_id, rx, socket).await;
}

type Started = (String, (u64, mpsc::UnboundedReceiver<Outgoing>));

fn identify(sandbox: &Sandbox, d: &Value) -> Result<Started, (u16, &'static str)> {
    let sim = &sandbox.discord;
    if !token_matches(d.get("token").and_then(Value::as_str), sim.bot_token()) {
        return Err((close::AUTHENTICATION_FAILED, "Authentication failed."));
    }
    let intents = d
        .get("intents")
        .and_then(Value::as_u64)
        .filter(|i| i & !intents::ALL == 0)
        .ok_or((close::INVALID_INTENTS, "Invalid intent(s)."))?;
    let shard = match d.get("shard") {
        None | Some(Value::Null) => (0, 1),
        Some(shard) => match (shard[0].as_u64(), shard[1].as_u64()) {
            (Some(id), Some(total)) if total >= 1 && id < total => (id, total),
            _ => return Err((close::INVALID_SHARD, "Invalid shard.")),
        },
    };
    sim.gateway.identifies.fetch_add(1, Ordering::Relaxed);
    let session_id = super::random_hex(16);
    let (tx, rx) = mpsc::unbounded_channel();
    let connection = sim.gateway.next_connection.fetch_add(1, Ordering::Relaxed);
    let mut session = Session {
        shard,
        intents,
        seq: 0,
        buffer: VecDeque::new(),
        live: Some((connection, tx)),
        disconnected_at: None,
    };
    let guilds: Vec<super::SimGuild> = sim
        .guilds()
        .into_iter()
        .filter(|g| g.bot_member && session.covers(Some(g.id)))
        .collect();
    session.push(
        "READY",
        &json!({
            "v": 10,
            "user": sim.bot_user(),
            "guilds": guilds.iter().map(|g| json!({ "id": g.id.to_string(), "unavailable": true })).collect::<Vec<_>>(),
            "session_id": session_id,
            "resume_gateway_url": sim.gateway_url(),
            "shard": [shard.0, shard.1],
            "application": { "id": sim.bot_id(), "flags": 0 },
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "session_type": "normal",
        }),
    );
    if intents & intents::GUILDS != 0 {
        for guild in &guilds {
            session.push("GUILD_CREATE", &sim.guild_create(guild));
        }
    }
    let mut sessions = sim.gateway.lock();
    Gateway::forget_expired(&mut sessions);
    sessions.insert(session_id.clone(), session);
    Ok((session_id, (connection, rx)))
}

/// `Ok(None)`: the session cannot be resumed.
fn resume(sandbox: &Sandbox, d: &Value) -> Result<Option<Started>, (u16, &'static str)> {
    let sim = &sandbox.discord;
    if !token_matches(d.get("token").and_then(Value::as_str), sim.bot_token()) {
        return Err((close::AUTHENTICATION_FAILED, "Authentication failed."));
    }
    let (Some(session_id), Some(seq)) = (
        d.get("session_id").and_then(Value::as_str),
        d.get("seq").and_then(Value::as_u64),
    ) else {
        return Err((close::DECODE_ERROR, "Error while decoding payload."));
    };
    let mut sessions = sim.gateway.lock();
    Gateway::forget_expired(&mut sessions);
    let Some(session) = sessions.get_mut(session_id) else {
        return Ok(None);
    };
    if seq > session.seq {
        return Err((close::INVALID_SEQ, "Invalid seq."));
    }
    // Replaying needs every event after `seq` still in the buffer.
    let oldest = session.buffer.front().map_or(session.seq + 1, |(s, _)| *s);
    if seq + 1 < oldest {
        sessions.remove(session_id);
        return Ok(None);
    }
    sim.gateway.resumes.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::unbounded_channel();
    if let Some((_, old)) = session.live.take() {
        let _ = old.send(Outgoing::Close(
            close::UNKNOWN_ERROR,
            "Session resumed elsewhere.",
        ));
    }
    for (_, frame) in session.buffer.iter().filter(|(s, _)| *s > seq) {
        let _ = tx.send(Outgoing::Text(frame.clone()));
    }
    let connection = sim.gateway.next_connection.fetch_add(1, Ordering::Relaxed);
    session.live = Some((connection, tx));
    session.disconnected_at = None;
    session.push("RESUMED", &json!({}));
    Ok(Some((session_id.to_owned(), (connection, rx))))
}

async fn run_session(
    sandbox: &Sandbox,
    session_id: &str,
    (connection, mut rx): (u64, mpsc::UnboundedReceiver<Outgoing>),
    socket: WebSocket,
) {
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            outgoing = rx.recv() => match outgoing {
                Some(Outgoing::Text(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Close(code, reason)) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame { code, reason: reason.into() })))
                        .await;
                    break;
                }
                None => break,
            },
            incoming = stream.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Binary(_))) => {
                        let _ = sink.send(Message::Close(Some(CloseFrame {
                            code: close::DECODE_ERROR,
                            reason: "Error while decoding payload.".into(),
                        }))).await;
                        break;
                    }
                    _ => break,
                };
                let reply = match serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|p| p.get("op").and_then(Value::as_u64))
                {
                    Some(op::HEARTBEAT) => Ok(Some(frame(op::HEARTBEAT_ACK, &Value::Null))),
                    Some(op::IDENTIFY | op::RESUME) => {
                        Err((close::ALREADY_AUTHENTICATED, "Already authenticated."))
                    }
                    Some(
                        op::PRESENCE_UPDATE
                        | op::VOICE_STATE_UPDATE
                        | op::REQUEST_GUILD_MEMBERS
                        | op::REQUEST_SOUNDBOARD_SOUNDS,
                    ) => Ok(None),
                    Some(_) => Err((close::UNKNOWN_OPCODE, "Unknown opcode.")),
                    None => Err((close::DECODE_ERROR, "Error while decoding payload.")),
                };
                match reply {
                    Ok(Some(text)) => {
                        if sink.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    Ok(None) => {}
                    Err((code, reason)) => {
                        let _ = sink
                            .send(Message::Close(Some(CloseFrame { code, reason: reason.into() })))
                            .await;
                        break;
                    }
                }
            }
        }
    }
    let mut sessions = sandbox.discord.gateway.lock();
    if let Some(session) = sessions.get_mut(session_id)
        && session.live.as_ref().is_some_and(|(c, _)| *c == connection)
    {
        session.live = None;
        session.disconnected_at = Some(Instant::now());
    }
}

/// Sandbox control: sessions and counters.
async fn status(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    Json(sandbox.discord.gateway.status())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Disconnect {
    /// `false`: the sessions are invalidated (INVALID_SESSION), so clients must IDENTIFY again
    /// and whatever was dispatched meanwhile is not replayed.
    resumable: bool,
    /// Ask clients to reconnect (opcode 7) instead of dropping them.
    reconnect: bool,
    /// Refuse new connections for this long.
    refuse_ms: u64,
}

impl Default for Disconnect {
    fn default() -> Self {
        Self {
            resumable: true,
            reconnect: false,
            refuse_ms: 0,
        }
    }
}

/// Sandbox control: drops every live gateway connection, as a network failure or a Discord
/// restart would.
async fn disconnect(
    State(sandbox): State<Arc<Sandbox>>,
    Json(body): Json<Disconnect>,
) -> Json<Value> {
    let gateway = &sandbox.discord.gateway;
    if body.refuse_ms > 0 {
        *gateway
            .refuse_until
            .lock()
            .unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + Duration::from_millis(body.refuse_ms));
    }
    let mut dropped = 0;
    let mut sessions = gateway.lock();
    for session in sessions.values_mut() {
        let Some((_, tx)) = session.live.take() else {
            continue;
        };
        dropped += 1;
        session.disconnected_at = Some(Instant::now());
        if body.reconnect {
            let _ = tx.send(Outgoing::Text(frame(op::RECONNECT, &Value::Null)));
        } else if !body.resumable {
            let _ = tx.send(Outgoing::Text(frame(op::INVALID_SESSION, &json!(false))));
        }
        let _ = tx.send(Outgoing::Close(close::UNKNOWN_ERROR, "Connection dropped."));
    }
    if !body.resumable {
        sessions.clear();
    }
    Json(json!({ "dropped": dropped }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Forged {
    /// The event name (`MESSAGE_CREATE`, …).
    t: String,
    /// The guild whose shard gets the event; none for a direct message.
    guild_id: Option<String>,
    d: Value,
}

/// Sandbox control: dispatches an arbitrary event, as a compromised or buggy platform might
/// (a message claiming one server's guild id with another server's channel, say), so tests can
/// check that routing does not trust what it is told.
async fn forge(State(sandbox): State<Arc<Sandbox>>, Json(body): Json<Forged>) -> StatusCode {
    let guild = body.guild_id.as_deref().and_then(|g| g.parse::<u64>().ok());
    let intent = match (body.t.as_str(), guild) {
        ("MESSAGE_CREATE", Some(_)) => intents::GUILD_MESSAGES,
        ("MESSAGE_CREATE", None) => intents::DIRECT_MESSAGES,
        _ => intents::GUILDS,
    };
    sandbox
        .discord
        .gateway
        .dispatch(&body.t, guild, intent, &body.d);
    StatusCode::NO_CONTENT
}

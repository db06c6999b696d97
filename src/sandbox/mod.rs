//! Built-in simulators of Discord and GitHub, mounted under `/sandbox/…` in sandbox mode only.
//!
//! The product reaches them exactly as it reaches discord.com and github.com: over HTTP, at the
//! configured base URLs. They check what the real platforms check and answer in their shapes,
//! errors included, so a flow that works here works there.
pub mod discord;
pub mod github;
mod page;
pub mod webhooks;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, http::HeaderMap};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use rand::RngCore;

use crate::config::Settings;

pub use crate::config::sandbox_credentials as credentials;

/// Authorisation codes live this long on both platforms.
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// A registered OAuth application.
#[derive(Clone, Debug)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl OAuthApp {
    /// Client credentials from HTTP Basic or the form, as both platforms accept.
    fn authenticates(&self, headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
        let basic = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| B64.decode(v.trim()).ok())
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|v| {
                v.split_once(':')
                    .map(|(a, b)| (decode_form(a), decode_form(b)))
            });
        let (id, secret) = match basic {
            Some(pair) => pair,
            None => match (form.get("client_id"), form.get("client_secret")) {
                (Some(id), Some(secret)) => (id.clone(), secret.clone()),
                _ => return false,
            },
        };
        use subtle::ConstantTimeEq;
        id == self.client_id && bool::from(secret.as_bytes().ct_eq(self.client_secret.as_bytes()))
    }
}

/// RFC 6749 §2.3.1: Basic credentials are form-encoded before base64.
fn decode_form(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The simulated gateway's WebSocket URL: `ws(s)://{PUBLIC_URL}/sandbox/discord/gateway`.
fn gateway_url(public_url: &url::Url) -> String {
    let scheme = if public_url.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    let base = public_url.as_str().trim_end_matches('/');
    let rest = base.split_once("://").map_or(base, |(_, rest)| rest);
    format!("{scheme}://{rest}/sandbox/discord/gateway")
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

pub(crate) fn expired(at: Instant) -> bool {
    Instant::now() >= at
}

pub struct Sandbox {
    pub discord: discord::DiscordSim,
    pub github: github::GitHubSim,
    /// The webhook receiver at `/sandbox/webhooks/inbox`.
    pub webhooks: webhooks::Inbox,
}

impl Sandbox {
    pub fn new(settings: &Settings) -> Self {
        let app = |id: &Option<String>,
                   secret: &Option<crate::config::Secret<String>>,
                   provider: &str,
                   default_id: &str,
                   default_secret: &str| OAuthApp {
            client_id: id.clone().unwrap_or_else(|| default_id.to_owned()),
            client_secret: secret
                .as_ref()
                .map_or_else(|| default_secret.to_owned(), |s| s.expose().clone()),
            redirect_uris: vec![settings.redirect_uri(provider)],
        };
        Self {
            discord: discord::DiscordSim::new(
                app(
                    &settings.discord.client_id,
                    &settings.discord.client_secret,
                    "discord",
                    credentials::DISCORD_CLIENT_ID,
                    credentials::DISCORD_CLIENT_SECRET,
                ),
                settings.discord_bot_token.as_ref().map_or_else(
                    || credentials::DISCORD_BOT_TOKEN.to_owned(),
                    |t| t.expose().clone(),
                ),
                gateway_url(&settings.public_url),
            ),
            github: github::GitHubSim::new(
                app(
                    &settings.github.client_id,
                    &settings.github.client_secret,
                    "github",
                    credentials::GITHUB_CLIENT_ID,
                    credentials::GITHUB_CLIENT_SECRET,
                ),
                &settings.public_url,
            ),
            webhooks: webhooks::Inbox::default(),
        }
    }
}

/// Delays the answer (not the work) of REST calls while a slow-answer fault is due.
async fn slow_answer(
    axum::extract::State(sandbox): axum::extract::State<Arc<Sandbox>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if api && let Some(delay) = sandbox.discord.limits.take_slow_answer() {
        tokio::time::sleep(delay).await;
    }
    response
}

/// `/sandbox/discord/…` and `/sandbox/github/…`.
pub fn router<S>(sandbox: Arc<Sandbox>) -> Router<S> {
    Router::new()
        .nest(
            "/sandbox/discord",
            discord::router()
                .layer(axum::middleware::from_fn_with_state(
                    sandbox.clone(),
                    slow_answer,
                ))
                .merge(discord::client_router()),
        )
        .nest("/sandbox/github", github::router(sandbox.clone()))
        .nest("/sandbox/webhooks", webhooks::router())
        .with_state(sandbox)
}

//! What the domain works with: storage, the platforms, secrets and settings, and the two
//! after-commit channels (live events, routing cache). Domain functions take `&Services` (or
//! one of its parts); the HTTP layer's `AppState` wraps it with what only requests need.
use std::sync::Arc;

use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::{
    config::Settings,
    crypto::TokenCipher,
    db,
    discord::DiscordRest,
    events,
    github::client::GitHubApi,
    integrations::providers::Providers,
    metrics::Metrics,
    routing::cache::Cache,
    state::{self, SharedState},
    webhooks::sender::Sender,
};

#[derive(Clone)]
pub struct Services {
    pub db: DatabaseConnection,
    pub state: SharedState,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    /// For calls to the platforms (OAuth, GitHub API); never follows redirects.
    pub http: reqwest::Client,
    pub providers: Providers,
    pub cipher: Arc<TokenCipher>,
    /// Sends signed webhook messages to the companies' endpoints.
    pub webhooks: Arc<Sender>,
    /// GitHub's REST API (issues, repository webhooks), paced by its rate limits.
    pub github: Arc<GitHubApi>,
    /// The Discord REST client, when a bot token is configured (always in sandbox mode).
    pub discord: Option<Arc<DiscordRest>>,
    /// Live events: gives committed events their ids and tells every replica.
    pub events: events::Bus,
    /// Cached routing lookups, invalidated on every replica.
    pub routing: Arc<Cache>,
    /// Inbound messages waiting to share a routing transaction.
    pub inbound: Arc<crate::routing::commit::GroupCommit>,
    /// Wakes this process's channel worker: a creation was queued or finished.
    pub channel_work: Arc<tokio::sync::Notify>,
}

impl Services {
    /// Connects to the database (migrating it) and the state store, and builds the clients.
    pub async fn connect(settings: Settings, namespace: &str) -> anyhow::Result<Self> {
        let db = db::connect_migrated(settings.database_url.expose())
            .await
            .context("connecting to the database and running its migrations")?;
        let state = state::connect(
            settings.redis_url.as_ref().map(|u| u.expose().as_str()),
            namespace,
        )
        .await
        .context("connecting to Redis")?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .context("building the HTTP client")?;
        let metrics = Arc::new(Metrics::new());
        let discord = settings.discord_bot_token.clone().map(|token| {
            Arc::new(
                DiscordRest::new(http.clone(), &settings.discord_api_base, token, &metrics)
                    .with_timeout(settings.discord_timeout)
                    .with_global_limit(settings.discord_global_limit)
                    .with_shared_limits(state.shared_limits()),
            )
        });
        let providers = Providers::from_settings(&settings, http.clone(), discord.clone());
        let previous: Vec<[u8; 32]> = settings
            .previous_encryption_keys
            .iter()
            .map(|k| *k.expose())
            .collect();
        let cipher = Arc::new(TokenCipher::new(
            settings.token_encryption_key.expose(),
            &previous,
        ));
        let github = Arc::new(GitHubApi::new(
            http.clone(),
            settings.github_api_base.clone(),
        ));
        let webhooks = Arc::new(Sender::new(&metrics).context("building the webhook client")?);
        Ok(Self {
            webhooks,
            github,
            events: events::Bus::new(db.clone(), state.clone()),
            routing: Arc::new(Cache::new(&metrics, state.clone())),
            // PostgreSQL runs batches side by side; SQLite has one writer.
            inbound: Arc::new(crate::routing::commit::GroupCommit::new(
                if settings.is_postgres() { 4 } else { 1 },
            )),
            db,
            state,
            settings: Arc::new(settings),
            metrics,
            http,
            providers,
            cipher,
            discord,
            channel_work: Arc::default(),
        })
    }
}

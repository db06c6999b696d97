//! The provider abstraction: what the connect flow needs from Discord, GitHub or any other.
use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Utc};
use oauth2::PkceCodeChallenge;
use serde::{Deserialize, Serialize};
use url::Url;

use super::{discord::DiscordProvider, github::GitHubProvider};
use crate::config::{Secret, Settings};
use crate::types::Snowflake;

/// What a successful code exchange or refresh yields.
pub struct Grant {
    pub access_token: Secret<String>,
    pub refresh_token: Option<Secret<String>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
    pub details: GrantDetails,
}

/// Provider-specific facts learned from the grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantDetails {
    /// A bot install: the guild comes from the token response, never from the callback URL.
    Discord {
        guild_id: Snowflake,
        guild_name: String,
    },
    GitHub {
        login: String,
    },
    None,
}

/// The query of the provider's redirect back to us.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// Discord: the guild picked on the consent page (a hint only).
    pub guild_id: Option<String>,
    /// Discord: the permission bitfield granted to the bot.
    pub permissions: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider answered with an OAuth error (`invalid_grant`, `bad_verification_code`, …).
    #[error("the provider refused: {error}")]
    Rejected {
        error: String,
        description: Option<String>,
    },
    /// Network failure, timeout or a 5xx.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// An answer we cannot use (unexpected shape, missing fields).
    #[error("the provider's answer was not understood: {0}")]
    Invalid(String),
}

impl From<reqwest::Error> for ProviderError {
    fn from(err: reqwest::Error) -> Self {
        // Never include the URL: some carry tokens in their query.
        ProviderError::Unreachable(err.without_url().to_string())
    }
}

#[async_trait::async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Stable id used in URLs and the database: `discord`, `github`.
    fn id(&self) -> &'static str;
    fn name(&self) -> &'static str;
    /// What connecting this provider enables.
    fn features(&self) -> &'static [&'static str];
    /// Client id and secret are known.
    fn is_configured(&self) -> bool;
    /// Whether the authorize request carries a PKCE challenge (S256).
    fn uses_pkce(&self) -> bool;
    /// The consent page the popup opens.
    fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce: Option<PkceCodeChallenge>,
    ) -> Result<Url, ProviderError>;
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: Option<String>,
    ) -> Result<Grant, ProviderError>;
    async fn refresh(&self, refresh_token: &str) -> Result<Grant, ProviderError>;
    /// Revokes the grant at the provider, where the provider allows it.
    async fn revoke(&self, access_token: &str) -> Result<(), ProviderError>;
    /// Checks that the stored grant still works (the bot is still in the guild, the token is
    /// still valid).
    async fn health_check(
        &self,
        access_token: &str,
        metadata: &IntegrationMetadata,
    ) -> Result<(), ProviderError>;
}

/// Non-secret facts stored with an integration, shown to admins.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationMetadata {
    /// Discord: the connected server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_name: Option<String>,
    /// Discord: the bot's permission bitfield, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
    /// GitHub: the account that authorised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// Every provider the service knows, by id. Adding one means adding it here; the flow, the
/// routes and the UI list pick it up.
#[derive(Clone)]
pub struct Providers(BTreeMap<&'static str, Arc<dyn Provider>>);

impl Providers {
    pub fn from_settings(
        settings: &Settings,
        http: reqwest::Client,
        discord: Option<Arc<crate::discord::DiscordRest>>,
    ) -> Self {
        let providers: [Arc<dyn Provider>; 2] = [
            Arc::new(DiscordProvider::new(settings, http.clone(), discord)),
            Arc::new(GitHubProvider::new(settings, http)),
        ];
        Self(providers.into_iter().map(|p| (p.id(), p)).collect())
    }

    pub fn get(&self, id: &str) -> Option<&Arc<dyn Provider>> {
        self.0.get(id)
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.0.values()
    }
}

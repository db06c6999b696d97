//! Discord: a bot install through OAuth2 (`scope=bot applications.commands`).
use std::borrow::Cow;

use chrono::{Duration, Utc};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, ExtraTokenFields, PkceCodeChallenge, RedirectUrl, RefreshToken,
    Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
    basic::{
        BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
        BasicTokenType,
    },
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{
    oauth::{self, endpoint},
    providers::{Grant, GrantDetails, IntegrationMetadata, Provider, ProviderError},
};
use crate::{
    config::{Secret, Settings},
    discord::{DiscordError, DiscordRest},
    types::Snowflake,
};
use std::sync::Arc;

/// The permissions the bot asks for at install (bits from `discord::model::permission`).
pub mod permissions {
    use crate::discord::model::permission::{
        ATTACH_FILES, EMBED_LINKS, MANAGE_CHANNELS, MANAGE_ROLES, READ_MESSAGE_HISTORY,
        SEND_MESSAGES, VIEW_CHANNEL,
    };

    /// Everything the bot asks for at install. MANAGE_ROLES is needed to write permission
    /// overwrites on the lead channels.
    pub const BOT: u64 = VIEW_CHANNEL
        | SEND_MESSAGES
        | READ_MESSAGE_HISTORY
        | MANAGE_CHANNELS
        | MANAGE_ROLES
        | EMBED_LINKS
        | ATTACH_FILES;
}

pub const SCOPES: [&str; 2] = ["bot", "applications.commands"];

/// The guild object of a bot-install token response (a partial Discord guild).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct TokenGuild {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct DiscordTokenFields {
    #[serde(default)]
    pub guild: Option<TokenGuild>,
}

impl ExtraTokenFields for DiscordTokenFields {}

type DiscordTokenResponse = StandardTokenResponse<DiscordTokenFields, BasicTokenType>;
type DiscordClient = Client<
    BasicErrorResponse,
    DiscordTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

pub struct DiscordProvider {
    client_id: Option<String>,
    client_secret: Option<Secret<String>>,
    bot_token: Option<Secret<String>>,
    api_base: Url,
    http: reqwest::Client,
    /// Bot calls go through the one rate-limited client.
    rest: Option<Arc<DiscordRest>>,
}

impl DiscordProvider {
    pub fn new(settings: &Settings, http: reqwest::Client, rest: Option<Arc<DiscordRest>>) -> Self {
        Self {
            client_id: settings.discord.client_id.clone(),
            client_secret: settings.discord.client_secret.clone(),
            bot_token: settings.discord_bot_token.clone(),
            api_base: settings.discord_api_base.clone(),
            http,
            rest,
        }
    }

    fn client(&self) -> Result<DiscordClient, ProviderError> {
        let not_configured = || ProviderError::Invalid("Discord is not configured".into());
        let id = self.client_id.clone().ok_or_else(not_configured)?;
        let secret = self.client_secret.as_ref().ok_or_else(not_configured)?;
        let auth = AuthUrl::new(endpoint(&self.api_base, "/oauth2/authorize"))
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        let token = TokenUrl::new(endpoint(&self.api_base, "/api/v10/oauth2/token"))
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        Ok(Client::new(ClientId::new(id))
            .set_client_secret(ClientSecret::new(secret.expose().clone()))
            .set_auth_uri(auth)
            .set_token_uri(token)
            .set_auth_type(AuthType::BasicAuth))
    }

    /// A bot install's token response names the guild; the connect flow refuses one that
    /// does not, or whose id is not a Discord id (`missing_guild`). A refresh has no guild.
    fn grant(response: DiscordTokenResponse) -> Result<Grant, ProviderError> {
        let details = match &response.extra_fields().guild {
            Some(guild) => match guild.id.parse() {
                Ok(guild_id) => GrantDetails::Discord {
                    guild_id,
                    guild_name: guild.name.clone(),
                },
                Err(_) => GrantDetails::None,
            },
            None => GrantDetails::None,
        };
        Ok(Grant {
            access_token: Secret::new(response.access_token().secret().clone()),
            refresh_token: response
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone())),
            expires_at: response
                .expires_in()
                .and_then(|d| Duration::from_std(d).ok())
                .map(|d| Utc::now() + d),
            scopes: response
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
            details,
        })
    }
}

#[async_trait::async_trait]
impl Provider for DiscordProvider {
    fn id(&self) -> &'static str {
        "discord"
    }

    fn name(&self) -> &'static str {
        "Discord"
    }

    fn features(&self) -> &'static [&'static str] {
        &["lead_channels", "messaging", "inbound_routing"]
    }

    fn is_configured(&self) -> bool {
        self.client_id.is_some() && self.client_secret.is_some() && self.bot_token.is_some()
    }

    fn uses_pkce(&self) -> bool {
        // Discord's OAuth2 documentation defines no PKCE parameters for the bot flow.
        false
    }

    fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        _pkce: Option<PkceCodeChallenge>,
    ) -> Result<Url, ProviderError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        let state = state.to_owned();
        let (url, _) = self
            .client()?
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
            .add_extra_param("permissions", permissions::BOT.to_string())
            .add_extra_param("integration_type", "0")
            .set_redirect_uri(Cow::Owned(redirect))
            .url();
        Ok(url)
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        _pkce_verifier: Option<String>,
    ) -> Result<Grant, ProviderError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        let http = self.http.clone();
        let response = self
            .client()?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_redirect_uri(Cow::Owned(redirect))
            .request_async(&|req| oauth::send(http.clone(), req))
            .await
            .map_err(oauth::map_error)?;
        Self::grant(response)
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Grant, ProviderError> {
        let http = self.http.clone();
        let token = RefreshToken::new(refresh_token.to_owned());
        let response = self
            .client()?
            .exchange_refresh_token(&token)
            .request_async(&|req| oauth::send(http.clone(), req))
            .await
            .map_err(oauth::map_error)?;
        Self::grant(response)
    }

    async fn revoke(&self, access_token: &str) -> Result<(), ProviderError> {
        let (Some(id), Some(secret)) = (&self.client_id, &self.client_secret) else {
            return Err(ProviderError::Invalid("Discord is not configured".into()));
        };
        let response = self
            .http
            .post(endpoint(&self.api_base, "/api/v10/oauth2/token/revoke"))
            .basic_auth(id, Some(secret.expose()))
            .form(&[("token", access_token), ("token_type_hint", "access_token")])
            .send()
            .await?;
        expect_success(response).await
    }

    async fn health_check(
        &self,
        _access_token: &str,
        metadata: &IntegrationMetadata,
    ) -> Result<(), ProviderError> {
        // The bot is what Switchboard uses, so health means: the bot can still see the guild.
        let guild = metadata
            .guild_id
            .as_deref()
            .and_then(|g| g.parse::<Snowflake>().ok())
            .ok_or_else(|| ProviderError::Invalid("no guild recorded".into()))?;
        let rest = self
            .rest
            .as_ref()
            .ok_or_else(|| ProviderError::Invalid("no bot token".into()))?;
        match rest.guild(guild).await {
            Ok(_) => Ok(()),
            Err(DiscordError::Api {
                status,
                code,
                message,
            }) if status < 500 => Err(ProviderError::Rejected {
                error: format!("{message} (code {code})"),
                description: None,
            }),
            Err(err) => Err(ProviderError::Unreachable(err.to_string())),
        }
    }
}

/// 2xx is success; an OAuth or Discord JSON error is a refusal; a 5xx is "unreachable".
pub(super) async fn expect_success(response: reqwest::Response) -> Result<(), ProviderError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status.is_server_error() {
        return Err(ProviderError::Unreachable(format!("HTTP {status}")));
    }
    let error = body
        .get("error")
        .or_else(|| body.get("message"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or(status.as_str())
        .to_owned();
    Err(ProviderError::Rejected {
        error,
        description: body
            .get("error_description")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_permission_integer_is_the_sum_of_the_named_flags() {
        assert_eq!(permissions::BOT, 268_553_232);
    }
}

//! GitHub: an OAuth app authorisation with PKCE (S256), to read issues and pull requests.
use std::borrow::Cow;

use chrono::{Duration, Utc};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
    basic::{
        BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
        BasicTokenType,
    },
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{
    discord::expect_success,
    oauth::{self, endpoint},
    providers::{Grant, GrantDetails, IntegrationMetadata, Provider, ProviderError},
};
use crate::config::{Secret, Settings};
use crate::github::client::API_VERSION;

/// `repo` reads issues and pull requests in private repositories too.
pub const SCOPES: [&str; 1] = ["repo"];

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct GitHubTokenFields {
    /// Present when the app issues expiring tokens.
    #[serde(default)]
    pub refresh_token_expires_in: Option<u64>,
}

impl ExtraTokenFields for GitHubTokenFields {}

type GitHubTokenResponse = StandardTokenResponse<GitHubTokenFields, BasicTokenType>;
type GitHubClient = Client<
    BasicErrorResponse,
    GitHubTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

#[derive(Deserialize)]
struct GitHubUser {
    login: String,
}

pub struct GitHubProvider {
    client_id: Option<String>,
    client_secret: Option<Secret<String>>,
    oauth_base: Url,
    api_base: Url,
    http: reqwest::Client,
}

impl GitHubProvider {
    pub fn new(settings: &Settings, http: reqwest::Client) -> Self {
        Self {
            client_id: settings.github.client_id.clone(),
            client_secret: settings.github.client_secret.clone(),
            oauth_base: settings.github_oauth_base.clone(),
            api_base: settings.github_api_base.clone(),
            http,
        }
    }

    fn client(&self) -> Result<GitHubClient, ProviderError> {
        let not_configured = || ProviderError::Invalid("GitHub is not configured".into());
        let id = self.client_id.clone().ok_or_else(not_configured)?;
        let secret = self.client_secret.as_ref().ok_or_else(not_configured)?;
        let auth = AuthUrl::new(endpoint(&self.oauth_base, "/login/oauth/authorize"))
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        let token = TokenUrl::new(endpoint(&self.oauth_base, "/login/oauth/access_token"))
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        // GitHub takes the client credentials in the form body.
        Ok(Client::new(ClientId::new(id))
            .set_client_secret(ClientSecret::new(secret.expose().clone()))
            .set_auth_uri(auth)
            .set_token_uri(token)
            .set_auth_type(AuthType::RequestBody))
    }

    async fn user(&self, access_token: &str) -> Result<GitHubUser, ProviderError> {
        let response = self
            .http
            .get(endpoint(&self.api_base, "/user"))
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .send()
            .await?;
        if !response.status().is_success() {
            expect_success(response).await?;
            return Err(ProviderError::Invalid("unreachable".into()));
        }
        response
            .json()
            .await
            .map_err(|e| ProviderError::Invalid(e.without_url().to_string()))
    }

    async fn grant(&self, response: GitHubTokenResponse) -> Result<Grant, ProviderError> {
        let access_token = response.access_token().secret().clone();
        let login = self.user(&access_token).await?.login;
        Ok(Grant {
            access_token: Secret::new(access_token),
            refresh_token: response
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone())),
            expires_at: response
                .expires_in()
                .and_then(|d| Duration::from_std(d).ok())
                .map(|d| Utc::now() + d),
            scopes: response
                .scopes()
                .map(|s| {
                    s.iter()
                        .flat_map(|s| s.split(','))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            details: GrantDetails::GitHub { login },
        })
    }
}

#[async_trait::async_trait]
impl Provider for GitHubProvider {
    fn id(&self) -> &'static str {
        "github"
    }

    fn name(&self) -> &'static str {
        "GitHub"
    }

    fn features(&self) -> &'static [&'static str] {
        &["issue_links", "pull_request_links", "resolve_on_close"]
    }

    fn is_configured(&self) -> bool {
        self.client_id.is_some() && self.client_secret.is_some()
    }

    fn uses_pkce(&self) -> bool {
        true
    }

    fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce: Option<PkceCodeChallenge>,
    ) -> Result<Url, ProviderError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        let state = state.to_owned();
        let client = self.client()?;
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
            .set_redirect_uri(Cow::Owned(redirect));
        if let Some(challenge) = pkce {
            request = request.set_pkce_challenge(challenge);
        }
        Ok(request.url().0)
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: Option<String>,
    ) -> Result<Grant, ProviderError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        let http = self.http.clone();
        let client = self.client()?;
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_redirect_uri(Cow::Owned(redirect));
        if let Some(verifier) = pkce_verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier));
        }
        let response = request
            .request_async(&|req| oauth::send(http.clone(), req))
            .await
            .map_err(oauth::map_error)?;
        self.grant(response).await
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
        self.grant(response).await
    }

    async fn revoke(&self, access_token: &str) -> Result<(), ProviderError> {
        let (Some(id), Some(secret)) = (&self.client_id, &self.client_secret) else {
            return Err(ProviderError::Invalid("GitHub is not configured".into()));
        };
        let response = self
            .http
            .delete(endpoint(
                &self.api_base,
                &format!("/applications/{id}/grant"),
            ))
            .basic_auth(id, Some(secret.expose()))
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .json(&serde_json::json!({ "access_token": access_token }))
            .send()
            .await?;
        expect_success(response).await
    }

    async fn health_check(
        &self,
        access_token: &str,
        _metadata: &IntegrationMetadata,
    ) -> Result<(), ProviderError> {
        self.user(access_token).await.map(|_| ())
    }
}

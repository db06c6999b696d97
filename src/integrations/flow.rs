//! The connect flow: authorize → provider consent → callback → stored grant; and disconnect,
//! health checks and token refresh.
use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::{DateTime, Utc};
use oauth2::PkceCodeChallenge;
use rand::RngCore;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{
    CallbackParams, GrantDetails, Health, IntegrationMetadata, IntegrationStatus, Provider,
    ProviderError, store,
};
use crate::ids::{CompanyId, UserId};
use crate::{
    entities::integration,
    error::{Error, ErrorKind, Result},
    routing::cache::Key,
    services::Services,
    tenancy::Principal,
};

/// How long a started authorisation stays valid.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);
/// Tokens expiring within this window are refreshed ahead of time.
pub const REFRESH_AHEAD: chrono::Duration = chrono::Duration::minutes(10);

/// What `oauth_state:{state}` holds while the user is on the provider's consent page.
#[derive(Debug, Serialize, Deserialize)]
struct PendingAuthorization {
    provider: String,
    company_id: CompanyId,
    user_id: Option<UserId>,
    /// SHA-256 of the browser session's binding value: the callback must come from the same
    /// browser that started the flow.
    session_hash: String,
    redirect_uri: String,
    pkce_verifier: Option<String>,
}

fn state_key(state: &str) -> String {
    format!("oauth_state:{state}")
}

pub fn hash_binding(binding: &str) -> String {
    hex::encode(Sha256::digest(binding.as_bytes()))
}

/// A new random value: at least 32 bytes of entropy, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

pub fn provider<'a>(app: &'a Services, id: &str) -> Result<&'a std::sync::Arc<dyn Provider>> {
    app.providers.get(id).ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            "provider_not_found",
            format!("No provider named `{id}`."),
        )
    })
}

pub struct Authorization {
    pub authorize_url: String,
    pub expires_at: DateTime<Utc>,
}

/// Starts a connect: stores the pending authorisation and returns the provider's consent URL.
pub async fn authorize(
    app: &Services,
    principal: &Principal,
    provider_id: &str,
    session_binding: &str,
) -> Result<Authorization> {
    let provider = provider(app, provider_id)?;
    if !provider.is_configured() {
        return Err(Error::conflict(
            "provider_not_configured",
            format!("{} is not configured on this server.", provider.name()),
        ));
    }
    let state = random_token();
    let redirect_uri = app.settings.redirect_uri(provider.id());
    let (challenge, verifier) = if provider.uses_pkce() {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        (Some(challenge), Some(verifier.secret().clone()))
    } else {
        (None, None)
    };
    let url = provider
        .authorize_url(&redirect_uri, &state, challenge)
        .map_err(|e| Error::internal(anyhow::anyhow!("building the authorize URL: {e}")))?;
    let pending = PendingAuthorization {
        provider: provider.id().to_owned(),
        company_id: principal.company_id,
        user_id: principal.user_id,
        session_hash: hash_binding(session_binding),
        redirect_uri,
        pkce_verifier: verifier,
    };
    let value = serde_json::to_vec(&pending).map_err(Error::internal)?;
    app.state.put(&state_key(&state), &value, STATE_TTL).await?;
    let expires_at = Utc::now() + chrono::Duration::from_std(STATE_TTL).unwrap_or_default();
    tracing::info!(provider = provider.id(), company.id = %principal.company_id, "authorisation started");
    Ok(Authorization {
        authorize_url: url.to_string(),
        expires_at,
    })
}

/// What a successful callback connected.
pub struct Connected {
    pub provider: &'static str,
    pub summary: String,
}

fn fail(kind: ErrorKind, code: &'static str, detail: &str) -> Error {
    Error::new(kind, code, detail)
}

/// Completes a connect. Every failure is an `Error` with a stable code, and changes nothing.
pub async fn callback(
    app: &Services,
    provider_id: &str,
    params: &CallbackParams,
    session_binding: Option<&str>,
) -> Result<Connected> {
    let provider = provider(app, provider_id)?;
    let invalid_state = || {
        fail(
            ErrorKind::Validation,
            "invalid_state",
            "This sign-in link has expired or was already used. Start connecting again.",
        )
    };
    let state = params
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or_else(invalid_state)?;
    // Taken, not read: a state works once, whatever happens next.
    let pending: PendingAuthorization = app
        .state
        .take(&state_key(state))
        .await?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(invalid_state)?;
    if pending.provider != provider.id() {
        return Err(invalid_state());
    }
    let same_session = session_binding
        .map(hash_binding)
        .is_some_and(|h| bool::from(h.as_bytes().ct_eq(pending.session_hash.as_bytes())));
    if !same_session {
        return Err(fail(
            ErrorKind::Forbidden,
            "session_mismatch",
            "This sign-in was started in another browser session. Start connecting again from this window.",
        ));
    }
    if let Some(error) = params.error.as_deref() {
        let (code, detail) = match error {
            "access_denied" => (
                "access_denied",
                format!("You declined the {} authorisation.", provider.name()),
            ),
            _ => (
                "provider_error",
                format!("{} reported an error: {error}.", provider.name()),
            ),
        };
        return Err(Error::new(ErrorKind::Validation, code, detail));
    }
    // Each provider has its own redirect URI; the one we sent must be the one we are on
    // (RFC 9700's mix-up defence for a client of several providers).
    if pending.redirect_uri != app.settings.redirect_uri(provider.id()) {
        return Err(fail(
            ErrorKind::Validation,
            "redirect_uri_mismatch",
            "The sign-in came back to the wrong address.",
        ));
    }
    let code = params
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 512)
        .ok_or_else(|| {
            fail(
                ErrorKind::Validation,
                "missing_code",
                "The provider did not return an authorisation code.",
            )
        })?;

    let grant = provider
        .exchange_code(code, &pending.redirect_uri, pending.pkce_verifier)
        .await
        .map_err(|err| exchange_error(provider.name(), &err))?;

    let mut metadata = IntegrationMetadata {
        scopes: grant.scopes.clone(),
        ..Default::default()
    };
    let summary = match &grant.details {
        GrantDetails::Discord {
            guild_id,
            guild_name,
        } => {
            if params
                .guild_id
                .as_deref()
                .is_some_and(|hint| *hint != guild_id.to_string())
            {
                tracing::warn!(hint = ?params.guild_id, discord.guild_id = %guild_id, "callback guild_id differs from the token's guild; using the token's");
            }
            metadata.guild_id = Some(guild_id.to_string());
            metadata.guild_name = Some(guild_name.clone());
            metadata.permissions = params
                .permissions
                .clone()
                .filter(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 20);
            format!("Connected to the Discord server {guild_name}.")
        }
        GrantDetails::GitHub { login } => {
            metadata.login = Some(login.clone());
            format!("Connected to GitHub as {login}.")
        }
        GrantDetails::None => format!("Connected to {}.", provider.name()),
    };
    if provider.id() == "discord" && !matches!(grant.details, GrantDetails::Discord { .. }) {
        return Err(fail(
            ErrorKind::Validation,
            "missing_guild",
            "Discord did not say which server the bot joined.",
        ));
    }

    let mut change = app.begin().await?;
    // Routing changes for the guild bound now and the one it replaces.
    if provider.id() == "discord" {
        let permissions = metadata
            .permissions
            .clone()
            .unwrap_or_else(|| "0".to_owned());
        if let Some(previous) = store::connection_for(&change, pending.company_id).await? {
            change.invalidate(Key::Guild(previous.guild_id));
        }
        let bound =
            store::bind_guild(&change, pending.company_id, &grant.details, &permissions).await?;
        change.invalidate(Key::Guild(bound.guild_id));
    }
    let row = store::save_grant(
        &change,
        &app.cipher,
        pending.company_id,
        provider.id(),
        pending.user_id,
        &grant,
        &metadata,
    )
    .await?;
    let actor = pending
        .user_id
        .map_or_else(|| "system".to_owned(), |u| format!("user:{u}"));
    change.audit(pending.company_id,
        &actor,
        "integration.connected",
        &format!("integration:{}", row.id),
        serde_json::json!({ "provider": provider.id(), "guildId": metadata.guild_id, "login": metadata.login }),
    )
    .await?;
    change.commit().await?;
    tracing::info!(provider = provider.id(), company.id = %pending.company_id, "integration connected");
    Ok(Connected {
        provider: provider.id(),
        summary,
    })
}

fn exchange_error(provider: &str, err: &ProviderError) -> Error {
    tracing::warn!(provider, error = %err, "code exchange failed");
    match err {
        ProviderError::Rejected { .. } => fail(
            ErrorKind::Validation,
            "exchange_failed",
            &format!("{provider} did not accept the authorisation. Start connecting again."),
        ),
        ProviderError::Unreachable(_) | ProviderError::Invalid(_) => Error::unavailable(
            "provider_unavailable",
            format!("{provider} could not be reached. Try again in a moment."),
        ),
    }
}

/// Disconnects: revokes at the provider where possible, wipes the tokens, unbinds the guild,
/// keeps the row and the history, and writes an audit entry.
pub async fn disconnect(app: &Services, principal: &Principal, provider_id: &str) -> Result<()> {
    let provider = provider(app, provider_id)?;
    let row = store::get(&app.db, principal.company_id, provider.id())
        .await?
        .filter(|r| r.status != IntegrationStatus::Revoked)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "integration_not_found",
                format!("{} is not connected.", provider.name()),
            )
        })?;
    let revocation = match store::token(&app.cipher, &row, store::ACCESS_TOKEN) {
        Ok(Some(token)) => match provider.revoke(token.expose()).await {
            Ok(()) => "revoked".to_owned(),
            Err(err) => {
                tracing::warn!(provider = provider.id(), error = %err, "revocation at the provider failed; disconnecting anyway");
                format!("failed: {err}")
            }
        },
        Ok(None) => "no token".to_owned(),
        Err(err) => format!("failed: {err}"),
    };
    let mut change = app.begin().await?;
    let integration_id = row.id;
    store::mark_revoked(&change, row).await?;
    let guild = if provider.id() == "discord" {
        store::unbind_guild(&change, principal.company_id)
            .await?
            .map(|c| c.guild_id)
    } else {
        None
    };
    // Nothing more goes to the server: undelivered messages fail, and the bot leaves it.
    let leave = if provider.id() == "discord" {
        crate::channels::after_disconnect(&mut change, principal.company_id, guild).await?
    } else {
        None
    };
    if let Some(guild) = guild {
        change.invalidate(Key::Guild(guild));
    }
    change.audit(principal.company_id,
        &principal.actor(),
        "integration.disconnected",
        &format!("integration:{integration_id}"),
        serde_json::json!({ "provider": provider.id(), "guildId": guild, "revocation": revocation }),
    )
    .await?;
    change.commit().await?;
    crate::channels::finish_disconnect(app, leave).await;
    Ok(())
}

/// Asks the provider whether the grant still works, and records the answer.
pub async fn check(
    app: &Services,
    principal: &Principal,
    provider_id: &str,
) -> Result<integration::Model> {
    let provider = provider(app, provider_id)?;
    let row = store::get(&app.db, principal.company_id, provider.id())
        .await?
        .filter(|r| r.status != IntegrationStatus::Revoked)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "integration_not_found",
                format!("{} is not connected.", provider.name()),
            )
        })?;
    let row = fresh(app, row).await?;
    if row.status == IntegrationStatus::Error && row.access_token_enc.is_none() {
        return Ok(row);
    }
    let token = store::token(&app.cipher, &row, store::ACCESS_TOKEN)?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("active integration without a token")))?;
    let metadata = store::metadata(&row);
    match provider.health_check(token.expose(), &metadata).await {
        Ok(()) => {
            if provider.id() == "discord"
                && let Some(conn) = store::connection_for(&app.db, principal.company_id).await?
                && conn.health != Health::Connected
                && conn.bot_invited
            {
                set_health(app, conn, Health::Connected).await?;
            }
            if row.status == IntegrationStatus::Error {
                let mut active: integration::ActiveModel = row.into();
                active.status = sea_orm::Set(IntegrationStatus::Active);
                active.last_error = sea_orm::Set(None);
                return Ok(sea_orm::ActiveModelTrait::update(active, &app.db).await?);
            }
            Ok(row)
        }
        Err(err) => {
            tracing::warn!(provider = provider.id(), error = %err, "health check failed");
            if provider.id() == "discord"
                && let Some(conn) = store::connection_for(&app.db, principal.company_id).await?
            {
                set_health(app, conn, Health::Degraded).await?;
            }
            store::mark_error(&app.db, row, &format!("health check: {err}")).await
        }
    }
}

async fn set_health(
    app: &Services,
    conn: crate::entities::discord_connection::Model,
    value: super::Health,
) -> Result<()> {
    let mut active: crate::entities::discord_connection::ActiveModel = conn.into();
    active.health = sea_orm::Set(value);
    active.updated_at = sea_orm::Set(Utc::now());
    sea_orm::ActiveModelTrait::update(active, &app.db).await?;
    Ok(())
}

/// The row with a usable access token: refreshed first when it expires within
/// [`REFRESH_AHEAD`] and the provider issued a refresh token. A failed refresh marks the
/// integration `error`, with the reason, and counts it.
pub async fn fresh(app: &Services, row: integration::Model) -> Result<integration::Model> {
    let due = row
        .expires_at
        .is_some_and(|at| at - Utc::now() < REFRESH_AHEAD);
    if !due || row.status == IntegrationStatus::Revoked {
        return Ok(row);
    }
    // One refresh per grant across replicas: providers rotate refresh tokens, so a second,
    // concurrent refresh with the same token would fail and wrongly mark the grant broken.
    let lease = format!("refresh_lease:{}", row.id);
    if !app.state.put_if_absent(&lease, b"1", REFRESH_LEASE).await? {
        return Ok(row);
    }
    let result = refresh_now(app, row).await;
    app.state.delete(&lease).await?;
    result
}

/// How long one replica may hold a grant's refresh before another may try.
const REFRESH_LEASE: Duration = Duration::from_secs(60);

async fn refresh_now(app: &Services, row: integration::Model) -> Result<integration::Model> {
    // Re-read under the lease: another replica may have refreshed it a moment ago.
    let Some(row) = integration::Entity::find_by_id(row.id).one(&app.db).await? else {
        return Ok(row);
    };
    if row
        .expires_at
        .is_none_or(|at| at - Utc::now() >= REFRESH_AHEAD)
        || row.status == IntegrationStatus::Revoked
    {
        return Ok(row);
    }
    let Some(refresh_token) = store::token(&app.cipher, &row, store::REFRESH_TOKEN)? else {
        return Ok(row);
    };
    let provider = provider(app, &row.provider)?;
    match provider.refresh(refresh_token.expose()).await {
        Ok(grant) => {
            tracing::info!(provider = provider.id(), company.id = %row.company_id, "token refreshed");
            store::save_refresh(&app.db, &app.cipher, row, &grant).await
        }
        Err(err) => {
            tracing::warn!(provider = provider.id(), company.id = %row.company_id, error = %err, "token refresh failed");
            store::mark_error(&app.db, row, &format!("refresh failed: {err}")).await
        }
    }
}

/// Refreshes every active grant that expires soon. Run periodically by the server.
pub async fn refresh_due(app: &Services) -> Result<usize> {
    let soon = Utc::now() + REFRESH_AHEAD;
    let rows = integration::Entity::find()
        .filter(integration::Column::Status.eq(IntegrationStatus::Active))
        .filter(integration::Column::ExpiresAt.lt(soon))
        .filter(integration::Column::RefreshTokenEnc.is_not_null())
        .all(&app.db)
        .await?;
    let mut refreshed = 0;
    for row in rows {
        if fresh(app, row).await?.status == IntegrationStatus::Active {
            refreshed += 1;
        }
    }
    Ok(refreshed)
}

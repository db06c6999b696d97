//! One extractor turns a bearer JWT, an API key or the session cookie into a [`Principal`].
use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, Method, header, request::Parts},
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::ids::{CompanyId, UserId};
use crate::{
    error::{Error, Result},
    http::AppState,
    tenancy::{AuthMethod, Principal, Role, accounts, api_keys},
};

/// What a logged-in browser session holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAuth {
    pub user_id: UserId,
    pub company_id: CompanyId,
}

pub const SESSION_AUTH_KEY: &str = "auth";
pub const API_KEY_HEADER: &str = "x-api-key";

impl FromRequestParts<AppState> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let principal = resolve(parts, state).await?;
        tracing::Span::current()
            .record("company.id", tracing::field::display(principal.company_id));
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Principal> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| Error::unauthenticated("Malformed Authorization header."))?;
        let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || credential.trim().is_empty() {
            return Err(Error::unauthenticated(
                "Use `Authorization: Bearer <token or API key>`.",
            ));
        }
        let credential = credential.trim();
        return if credential.starts_with(api_keys::KEY_PREFIX) {
            from_api_key(state, credential).await
        } else {
            from_jwt(state, credential).await
        };
    }
    if let Some(value) = parts.headers.get(API_KEY_HEADER) {
        let key = value
            .to_str()
            .map_err(|_| Error::unauthenticated("The API key is not valid."))?;
        return from_api_key(state, key).await;
    }
    from_session(parts, state).await
}

async fn from_api_key(state: &AppState, key: &str) -> Result<Principal> {
    let key = api_keys::authenticate(&state.db, key).await?;
    // Checked on every request: a key acts with at most its creator's current role.
    let role = api_keys::effective_role(&state.db, &key).await?;
    Ok(Principal {
        company_id: key.company_id,
        user_id: None,
        role,
        method: AuthMethod::ApiKey { key_id: key.id },
    })
}

pub fn revoked_token_key(jti: &str) -> String {
    format!("revoked_jwt:{jti}")
}

async fn from_jwt(state: &AppState, token: &str) -> Result<Principal> {
    let claims = state.tokens.verify(token)?;
    if state
        .state
        .get(&revoked_token_key(&claims.jti))
        .await?
        .is_some()
    {
        return Err(Error::unauthenticated(
            "The token was revoked by logging out.",
        ));
    }
    // The role is read now, not from the token: a removed member loses access at once.
    let role = accounts::role_of(&state.db, claims.sub, claims.cid)
        .await?
        .ok_or_else(|| Error::unauthenticated("You are no longer a member of this company."))?;
    Ok(Principal {
        company_id: claims.cid,
        user_id: Some(claims.sub),
        role,
        method: AuthMethod::Token {
            jti: claims.jti,
            expires_at: claims.exp,
        },
    })
}

async fn from_session(parts: &mut Parts, state: &AppState) -> Result<Principal> {
    let unauthenticated = || {
        Error::unauthenticated("Authentication required: a bearer token, an API key or a session.")
    };
    let session = Session::from_request_parts(parts, state)
        .await
        .map_err(|_| unauthenticated())?;
    let auth: SessionAuth = session
        .get(SESSION_AUTH_KEY)
        .await
        .map_err(|e| Error::internal(anyhow::anyhow!("session store: {e}")))?
        .ok_or_else(unauthenticated)?;
    check_origin(&parts.method, &parts.headers, state)?;
    let role = accounts::role_of(&state.db, auth.user_id, auth.company_id)
        .await?
        .ok_or_else(unauthenticated)?;
    Ok(Principal {
        company_id: auth.company_id,
        user_id: Some(auth.user_id),
        role,
        method: AuthMethod::Session,
    })
}

/// Cookie-authenticated writes must come from our own pages: a browser always sends `Origin`
/// on cross-origin requests, so a foreign one is refused (CSRF), while clients that send no
/// `Origin` are not browsers acting on someone's behalf.
fn check_origin(method: &Method, headers: &HeaderMap, state: &AppState) -> Result<()> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return Ok(());
    };
    let own = state.settings.public_url.origin().ascii_serialization();
    if origin == state.settings.frontend_origin() || origin == own {
        return Ok(());
    }
    Err(Error::new(
        crate::error::ErrorKind::Forbidden,
        "cross_origin_request",
        "Requests with a session cookie must come from the Switchboard web app.",
    ))
}

/// A principal with the `admin` or `owner` role.
pub struct AdminPrincipal(pub Principal);

impl FromRequestParts<AppState> for AdminPrincipal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.role < Role::Admin {
            return Err(Error::forbidden("This needs the admin or owner role."));
        }
        Ok(Self(principal))
    }
}

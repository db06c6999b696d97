//! Discord's OAuth2: the consent page for a bot install, the token endpoint and revocation.
use std::{collections::HashMap, sync::Arc, time::Instant};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::json;

use super::{ACCESS_TOKEN_TTL, IssuedCode, TokenGrant, error, guild_json, install};
use crate::sandbox::{CODE_TTL, OAuthApp, Sandbox, expired, page, random_hex};

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route(
            "/oauth2/authorize",
            get(consent_page).post(consent_decision),
        )
        .route("/api/v10/oauth2/token", post(token))
        .route("/api/v10/oauth2/token/revoke", post(revoke))
}

/// An OAuth2 error body (RFC 6749 §5.2), which Discord's token endpoint answers with.
pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AuthorizeParams {
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
pub(super) fn validate(
    app: &OAuthApp,
    p: &AuthorizeParams,
) -> Result<(String, String), Box<Response>> {
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

pub(super) async fn consent_page(
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

pub(super) async fn consent_decision(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let sim = &sandbox.discord;
    let p: AuthorizeParams = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let (redirect, scope) = match validate(&sim.app, &p) {
        Ok(v) => v,
        Err(page) => return *page,
    };
    let mut target = match url::Url::parse(&redirect) {
        Ok(url) => url,
        Err(_) => return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"),
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
                return error(StatusCode::BAD_REQUEST, 10004, "Unknown Guild");
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

pub(super) async fn token(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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

pub(super) async fn revoke(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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

//! GitHub's OAuth web flow (with PKCE), `GET /user`, and revoking the app's grant.
//!
//! Reference: GitHub's "Authorizing OAuth apps" documentation. Token errors come back as
//! HTTP 200 with an `error` member, as GitHub does.
use std::{collections::HashMap, sync::Arc, time::Instant};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{delete, get},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{USER_ID, USER_LOGIN, api_error, shapes};
use crate::sandbox::{CODE_TTL, OAuthApp, Sandbox, expired, page, random_hex};

const REST_DOCS: &str = "https://docs.github.com/rest";

const DOCS: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

pub(super) struct IssuedCode {
    redirect_uri: Option<String>,
    scope: String,
    code_challenge: Option<String>,
    expires: Instant,
}

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route(
            "/login/oauth/authorize",
            get(consent_page).post(consent_decision),
        )
        .route(
            "/login/oauth/access_token",
            axum::routing::post(access_token),
        )
        .route("/api/applications/{client_id}/grant", delete(delete_grant))
        .route("/tokens", delete(revoke_all))
}

/// The token-authenticated routes (behind `limits::gated`).
pub(super) fn api_router() -> Router<Arc<Sandbox>> {
    Router::new().route("/api/user", get(user))
}

#[derive(Debug, Default, Deserialize)]
struct AuthorizeParams {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    response_type: Option<String>,
    decision: Option<String>,
}

fn validate(app: &OAuthApp, p: &AuthorizeParams) -> Result<String, Box<Response>> {
    let error_page = |status: StatusCode, message: &str| {
        Box::new(
            (
                status,
                page::render(
                    "GitHub",
                    "Sandbox GitHub",
                    &format!(
                        "<h1>Authorization failed</h1><p>{}</p>",
                        page::escape(message)
                    ),
                ),
            )
                .into_response(),
        )
    };
    if p.client_id.as_deref() != Some(app.client_id.as_str()) {
        return Err(error_page(StatusCode::NOT_FOUND, "Not Found"));
    }
    // GitHub: the redirect_uri may be omitted (the registered callback is used); when given it
    // must match the registered one.
    let redirect = p
        .redirect_uri
        .clone()
        .unwrap_or_else(|| app.redirect_uris[0].clone());
    if !app.redirect_uris.contains(&redirect) {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "The redirect_uri is not associated with this application.",
        ));
    }
    if p.code_challenge.is_some() && p.code_challenge_method.as_deref() != Some("S256") {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "code_challenge_method must be S256.",
        ));
    }
    Ok(redirect)
}

async fn consent_page(
    State(sandbox): State<Arc<Sandbox>>,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    if let Err(page) = validate(&sandbox.github.app, &p) {
        return *page;
    }
    let mut hidden = String::new();
    for (name, value) in [
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("scope", &p.scope),
        ("state", &p.state),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
        ("response_type", &p.response_type),
    ] {
        if let Some(value) = value {
            hidden.push_str(&page::hidden(name, value));
        }
    }
    let scopes: String = p
        .scope
        .as_deref()
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| format!("<li><code>{}</code></li>", page::escape(s)))
        .collect();
    let body = format!(
        r#"<h1>Authorize Switchboard</h1>
<p>Switchboard wants to access the <strong>{USER_LOGIN}</strong> account:</p>
<ul>{scopes}</ul>
<form method="post" action="authorize">
{hidden}
<button type="submit" name="decision" value="approve">Authorize</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form>"#
    );
    page::render(
        "GitHub · Authorize application",
        "Sandbox GitHub — not the real GitHub",
        &body,
    )
    .into_response()
}

async fn consent_decision(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let sim = &sandbox.github;
    let p: AuthorizeParams = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let redirect = match validate(&sim.app, &p) {
        Ok(r) => r,
        Err(page) => return *page,
    };
    let Ok(mut target) = url::Url::parse(&redirect) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    {
        let mut query = target.query_pairs_mut();
        if p.decision.as_deref() == Some("approve") {
            let code = random_hex(10);
            sim.lock().codes.insert(
                code.clone(),
                IssuedCode {
                    redirect_uri: p.redirect_uri.clone(),
                    scope: p.scope.clone().unwrap_or_default(),
                    code_challenge: p.code_challenge.clone(),
                    expires: Instant::now() + CODE_TTL,
                },
            );
            query.append_pair("code", &code);
        } else {
            query.append_pair("error", "access_denied");
            query.append_pair(
                "error_description",
                "The user has denied your application access.",
            );
            query.append_pair(
                "error_uri",
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
            );
        }
        if let Some(state) = &p.state {
            query.append_pair("state", state);
        }
    }
    Redirect::to(target.as_str()).into_response()
}

/// Token errors are HTTP 200 with an `error` member.
fn token_error(error: &str, description: &str) -> Response {
    Json(json!({ "error": error, "error_description": description, "error_uri": format!("{DOCS}#{error}") })).into_response()
}

async fn access_token(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sim = &sandbox.github;
    let is_json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let form: HashMap<String, String> = if is_json_body {
        serde_json::from_slice(&body).unwrap_or_default()
    } else {
        serde_urlencoded::from_bytes(&body).unwrap_or_default()
    };
    if !sim.app.authenticates(&headers, &form) {
        return token_error(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let mut state = sim.lock();
    let Some(issued) = form
        .get("code")
        .and_then(|c| state.codes.remove(c))
        .filter(|c| !expired(c.expires))
    else {
        return token_error(
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        );
    };
    if let Some(expected) = &issued.redirect_uri
        && form.get("redirect_uri") != Some(expected)
    {
        return token_error(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    if let Some(challenge) = &issued.code_challenge {
        let verified = form
            .get("code_verifier")
            .is_some_and(|v| B64.encode(Sha256::digest(v.as_bytes())) == *challenge);
        if !verified {
            return token_error(
                "bad_verification_code",
                "The code passed is incorrect or expired.",
            );
        }
    }
    let token = format!("gho_{}", random_hex(18));
    state.tokens.insert(token.clone(), issued.scope.clone());
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        Json(json!({ "access_token": token, "token_type": "bearer", "scope": issued.scope }))
            .into_response()
    } else {
        // Without `Accept: application/json` GitHub answers form-encoded.
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("access_token", &token)
            .append_pair("scope", &issued.scope)
            .append_pair("token_type", "bearer")
            .finish();
        (
            [(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body,
        )
            .into_response()
    }
}

/// `GET /user`: the sandbox user (the token was checked by `limits::gated`).
async fn user(State(sandbox): State<Arc<Sandbox>>) -> Response {
    let mut user = shapes::user_json(&sandbox.github.urls, USER_LOGIN, USER_ID);
    user["name"] = json!("Sandbox Octocat");
    Json(user).into_response()
}

#[derive(Deserialize)]
struct GrantBody {
    access_token: String,
}

async fn delete_grant(
    State(sandbox): State<Arc<Sandbox>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sim = &sandbox.github;
    if client_id != sim.app.client_id || !sim.app.authenticates(&headers, &HashMap::new()) {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            REST_DOCS,
        );
    }
    let Ok(body) = serde_json::from_slice::<GrantBody>(&body) else {
        return api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.",
            REST_DOCS,
        );
    };
    // Deleting the grant revokes every token the user gave the app.
    let mut state = sim.lock();
    if state.tokens.remove(&body.access_token).is_none() {
        return api_error(StatusCode::NOT_FOUND, "Not Found", REST_DOCS);
    }
    state.tokens.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// Sandbox control: the user revokes the app on GitHub's settings page.
async fn revoke_all(State(sandbox): State<Arc<Sandbox>>) -> StatusCode {
    sandbox.github.revoke_all();
    StatusCode::NO_CONTENT
}

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::ids::UserId;
use crate::{
    entities::{integration, user},
    error::{Error, ErrorKind, Result},
    http::AppState,
    http::popup,
    http::{
        extract::{AdminPrincipal, ApiPath, ApiQuery},
        problem::status_of,
    },
    integrations::{CallbackParams, Health, IntegrationMetadata, IntegrationStatus, flow, store},
    tenancy::Principal,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers))
        .routes(routes!(list_integrations))
        .routes(routes!(authorize))
        .routes(routes!(callback))
        .routes(routes!(check))
        .routes(routes!(disconnect))
        .routes(routes!(connect_server))
}

/// The session key holding this browser's OAuth binding value.
const OAUTH_BINDING_KEY: &str = "oauth_binding";

fn session_error(err: impl std::fmt::Display) -> Error {
    Error::internal(anyhow::anyhow!("session: {err}"))
}

/// The value that ties an OAuth flow to this browser session, created on first use (the
/// session cookie is then set on this response).
async fn session_binding(session: &Session) -> Result<String> {
    if let Some(binding) = session
        .get::<String>(OAUTH_BINDING_KEY)
        .await
        .map_err(session_error)?
    {
        return Ok(binding);
    }
    let binding = flow::random_token();
    session
        .insert(OAUTH_BINDING_KEY, &binding)
        .await
        .map_err(session_error)?;
    Ok(binding)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    /// `discord`, `github`.
    id: &'static str,
    name: &'static str,
    features: Vec<&'static str>,
    /// Credentials are set on this server, so it can be connected.
    configured: bool,
    /// The redirect URI to register with the provider.
    redirect_uri: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderList {
    items: Vec<ProviderView>,
}

/// Providers that can be connected
#[utoipa::path(get, path = "/integrations/providers", tag = "integrations",
    responses((status = 200, description = "Every provider this server knows", body = ProviderList)))]
async fn list_providers(
    State(state): State<AppState>,
    _principal: Principal,
) -> Json<ProviderList> {
    let items = state
        .providers
        .all()
        .map(|p| ProviderView {
            id: p.id(),
            name: p.name(),
            features: p.features().to_vec(),
            configured: p.is_configured(),
            redirect_uri: state.settings.redirect_uri(p.id()),
        })
        .collect();
    Json(ProviderList { items })
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedBy {
    #[schema(value_type = Uuid)]
    id: UserId,
    email: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationView {
    id: Uuid,
    provider: String,
    status: IntegrationStatus,
    /// Discord: the bot's standing in the server (`connected`, `degraded`, `disconnected`);
    /// other providers: `connected`, `disconnected` or `error`.
    health: Health,
    metadata: IntegrationMetadata,
    connected_by: Option<ConnectedBy>,
    connected_at: Option<DateTime<Utc>>,
    /// When the current access token expires, if it does.
    expires_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    error_count: i32,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationList {
    items: Vec<IntegrationView>,
}

async fn view(state: &AppState, row: integration::Model) -> Result<IntegrationView> {
    use sea_orm::EntityTrait;
    let connected_by = match row.connected_by_user_id {
        Some(id) => user::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .map(|u| ConnectedBy {
                id: u.id,
                email: u.email,
            }),
        None => None,
    };
    let health = if row.provider == "discord" {
        store::connection_for(&state.db, row.company_id)
            .await?
            .map_or(Health::Disconnected, |c| c.health)
    } else if row.status == IntegrationStatus::Active {
        Health::Connected
    } else if row.status == IntegrationStatus::Revoked {
        Health::Disconnected
    } else {
        Health::Error
    };
    Ok(IntegrationView {
        metadata: store::metadata(&row),
        id: row.id,
        provider: row.provider,
        status: row.status,
        health,
        connected_by,
        connected_at: row.connected_at,
        expires_at: row.expires_at,
        last_error: row.last_error,
        error_count: row.error_count,
        updated_at: row.updated_at,
    })
}

/// The company's integrations
///
/// Every provider ever connected, with its status; disconnected ones stay listed as `revoked`.
#[utoipa::path(get, path = "/integrations", tag = "integrations",
    responses((status = 200, description = "Integrations by provider", body = IntegrationList)))]
async fn list_integrations(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<IntegrationList>> {
    let rows = store::find_for(principal.company_id).all(&state.db).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(view(&state, row).await?);
    }
    Ok(Json(IntegrationList { items }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProviderPath {
    /// `discord` or `github`.
    provider: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    /// Open this in a popup.
    authorize_url: String,
    /// The flow must finish before this.
    expires_at: DateTime<Utc>,
}

/// Start connecting a provider (admin)
///
/// Answers the provider's consent URL for a popup. The flow is bound to this browser session
/// (the session cookie is set if there was none) and must finish within 10 minutes.
#[utoipa::path(post, path = "/integrations/{provider}/authorize", tag = "integrations",
    params(ProviderPath),
    responses(
        (status = 200, description = "Open `authorizeUrl` in a popup", body = AuthorizeResponse),
        (status = 403, description = "`forbidden`: needs admin or owner", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`provider_not_configured`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn authorize(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    session: Session,
    ApiPath(path): ApiPath<ProviderPath>,
) -> Result<Json<AuthorizeResponse>> {
    let binding = session_binding(&session).await?;
    let auth = flow::authorize(&state, &principal, &path.provider, &binding).await?;
    Ok(Json(AuthorizeResponse {
        authorize_url: auth.authorize_url,
        expires_at: auth.expires_at,
    }))
}

/// Connect this company's Discord server (admin)
///
/// The same as `POST /api/integrations/discord/authorize`: answers the bot-install URL.
#[utoipa::path(post, path = "/discord/connect-server", tag = "integrations",
    responses(
        (status = 200, description = "Open `authorizeUrl` in a popup", body = AuthorizeResponse),
        (status = 403, description = "`forbidden`: needs admin or owner", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`provider_not_configured`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn connect_server(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    session: Session,
) -> Result<Json<AuthorizeResponse>> {
    let binding = session_binding(&session).await?;
    let auth = flow::authorize(&state, &principal, "discord", &binding).await?;
    Ok(Json(AuthorizeResponse {
        authorize_url: auth.authorize_url,
        expires_at: auth.expires_at,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// Discord: the server picked (a hint; the token response decides).
    guild_id: Option<String>,
    /// Discord: the permissions granted to the bot.
    permissions: Option<String>,
}

/// OAuth redirect target (the popup lands here)
///
/// Not called by clients: the provider redirects the popup here. Answers a small HTML page
/// that posts `{type: "switchboard:oauth", provider, status, code?, message?}` to the opener at
/// the frontend's origin and closes itself. Every failure ends on the same page with a stable
/// `code` (`invalid_state`, `session_mismatch`, `access_denied`, `exchange_failed`,
/// `guild_already_connected`, `missing_guild`, `provider_unavailable`, …) and changes nothing.
#[utoipa::path(get, path = "/integrations/{provider}/callback", tag = "integrations", security(()),
    params(ProviderPath, CallbackQuery),
    responses(
        (status = 200, description = "Connected; the page notifies the opener", content_type = "text/html", body = String),
        (status = 400, description = "Expired, reused or invalid state; consent denied; code refused", content_type = "text/html", body = String),
        (status = 403, description = "`session_mismatch`: started in another browser session", content_type = "text/html", body = String),
        (status = 409, description = "`guild_already_connected`", content_type = "text/html", body = String),
        (status = 503, description = "`provider_unavailable`", content_type = "text/html", body = String),
    ))]
async fn callback(
    State(state): State<AppState>,
    session: Session,
    ApiPath(path): ApiPath<ProviderPath>,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> Result<Response> {
    let provider = flow::provider(&state, &path.provider)?.id();
    let binding = session
        .get::<String>(OAUTH_BINDING_KEY)
        .await
        .ok()
        .flatten();
    let params = CallbackParams {
        code: query.code,
        state: query.state,
        error: query.error,
        error_description: query.error_description,
        guild_id: query.guild_id,
        permissions: query.permissions,
    };
    let origin = &state.settings.frontend_origin();
    Ok(match flow::callback(&state, provider, &params, binding.as_deref()).await {
        Ok(connected) => {
            popup::render(&popup::PopupMessage::success(connected.provider, connected.summary), origin, StatusCode::OK)
        }
        Err(err) => {
            let status = match err.kind {
                // Logged with its cause; the page says only that it failed.
                ErrorKind::Internal => {
                    tracing::error!(code = err.code, error = ?err.source, "OAuth callback failed");
                    StatusCode::SERVICE_UNAVAILABLE
                }
                ErrorKind::Validation => StatusCode::BAD_REQUEST,
                kind => status_of(kind),
            };
            tracing::info!(provider, code = err.code, "OAuth callback refused");
            popup::render(&popup::PopupMessage::error(provider, err.code, err.detail), origin, status)
        }
    }
    .into_response())
}

/// Check that a connection still works (admin)
///
/// Asks the provider (Discord: can the bot still see the server? GitHub: is the token still
/// valid?) and records the answer in `status`, `health` and `lastError`.
#[utoipa::path(post, path = "/integrations/{provider}/check", tag = "integrations",
    params(ProviderPath),
    responses(
        (status = 200, description = "The integration after the check", body = IntegrationView),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn check(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<ProviderPath>,
) -> Result<Json<IntegrationView>> {
    let row = flow::check(&state, &principal, &path.provider).await?;
    Ok(Json(view(&state, row).await?))
}

/// Disconnect a provider (admin)
///
/// Revokes the grant at the provider where it can, forgets the tokens, unbinds the Discord
/// server, and keeps the history. Connecting the same server again restores it.
#[utoipa::path(delete, path = "/integrations/{provider}", tag = "integrations",
    params(ProviderPath),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn disconnect(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<ProviderPath>,
) -> Result<StatusCode> {
    flow::disconnect(&state, &principal, &path.provider).await?;
    Ok(StatusCode::NO_CONTENT)
}

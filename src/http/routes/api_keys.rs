use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::ids::UserId;
use crate::{
    entities::api_key,
    error::{Error, Result},
    http::AppState,
    http::extract::{AdminPrincipal, ApiJson, ApiPath},
    tenancy::{Role, accounts, api_keys},
    types::KeyName,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    id: Uuid,
    name: String,
    /// The first characters of the key, to recognise it.
    prefix: String,
    role: Role,
    #[schema(value_type = Option<Uuid>)]
    created_by_user_id: Option<UserId>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<api_key::Model> for ApiKeyView {
    type Error = Error;

    fn try_from(k: api_key::Model) -> Result<Self> {
        Ok(Self {
            role: accounts::parse_role(&k.role)?,
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created_by_user_id: k.created_by_user_id,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    #[serde(flatten)]
    key: ApiKeyView,
    /// The key itself. Shown only in this response: store it now.
    secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    #[schema(
        example = "CRM production",
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    name: String,
    /// Defaults to `member`; never above your own role.
    #[serde(default)]
    role: Option<KeyRole>,
}

/// The roles a key can have: keys never own a company.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    Member,
    Admin,
}

impl From<KeyRole> for Role {
    fn from(role: KeyRole) -> Self {
        match role {
            KeyRole::Member => Role::Member,
            KeyRole::Admin => Role::Admin,
        }
    }
}

/// Create an API key (admin)
#[utoipa::path(post, path = "/api-keys", tag = "api-keys",
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Created; `secret` is shown only now", body = CreatedApiKey),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn create_key(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiJson(body): ApiJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<CreatedApiKey>)> {
    let name = KeyName::parse("name", &body.name)?;
    let role = body.role.map_or(Role::Member, Role::from);
    if role > principal.role {
        return Err(Error::forbidden(
            "An API key cannot have more power than its creator.",
        ));
    }
    // A key made with a key belongs to the person behind that key.
    let creator = match principal.method {
        crate::tenancy::AuthMethod::ApiKey { key_id } => {
            api_keys::creator_of(&state.db, key_id).await?
        }
        _ => principal.user_id,
    };
    let (model, secret) =
        api_keys::create(&state.db, principal.company_id, creator, name, role).await?;
    tracing::info!(api_key.id = %model.id, actor = %principal.actor(), "api key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            key: model.try_into()?,
            secret,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyList {
    items: Vec<ApiKeyView>,
}

/// The company's API keys (admin)
#[utoipa::path(get, path = "/api-keys", tag = "api-keys",
    responses(
        (status = 200, description = "Keys, newest first, revoked ones included", body = ApiKeyList),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn list_keys(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
) -> Result<Json<ApiKeyList>> {
    let keys = api_keys::find_for(principal.company_id)
        .all(&state.db)
        .await?;
    let items = keys
        .into_iter()
        .map(TryInto::try_into)
        .collect::<Result<_>>()?;
    Ok(Json(ApiKeyList { items }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct KeyPath {
    key_id: Uuid,
}

/// Revoke an API key (admin)
///
/// Takes effect at once; revoking twice is fine.
#[utoipa::path(delete, path = "/api-keys/{keyId}", tag = "api-keys",
    params(KeyPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_key(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<KeyPath>,
) -> Result<StatusCode> {
    api_keys::revoke(&state.db, principal.company_id, path.key_id).await?;
    tracing::info!(api_key.id = %path.key_id, actor = %principal.actor(), "api key revoked");
    Ok(StatusCode::NO_CONTENT)
}

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    audit,
    entities::audit_entry,
    error::{Error, Result},
    http::AppState,
    http::extract::{AdminPrincipal, ApiQuery},
    pagination::PageParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_log))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryView {
    id: Uuid,
    /// `user:{id}`, `api_key:{id}` or `system`.
    actor: String,
    /// e.g. `integration.connected`, `integration.disconnected`.
    action: String,
    target: String,
    #[schema(value_type = Object)]
    detail: serde_json::Value,
    at: DateTime<Utc>,
}

impl From<audit_entry::Model> for AuditEntryView {
    fn from(e: audit_entry::Model) -> Self {
        Self {
            id: e.id,
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
            at: e.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogPage {
    items: Vec<AuditEntryView>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries with this action.
    #[param(max_length = 64)]
    action: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

/// The company's audit log, newest first (admin)
#[utoipa::path(get, path = "/audit-log", tag = "operations",
    params(AuditParams),
    responses(
        (status = 200, description = "A page of entries", body = AuditLogPage),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn list_audit_log(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditLogPage>> {
    let (limit, cursor) = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    }
    .parse()?;
    if params.action.as_deref().is_some_and(|a| a.len() > 64) {
        return Err(Error::invalid("action", "must be at most 64 characters"));
    }
    let page = audit::list(
        &state.db,
        principal.company_id,
        params.action.as_deref(),
        limit,
        cursor,
    )
    .await?;
    Ok(Json(AuditLogPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

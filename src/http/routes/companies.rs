use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    auth::{CompanyView, UserView},
    nullable,
};
use crate::ids::UserId;
use crate::{
    error::Result,
    http::AppState,
    http::extract::{AdminPrincipal, ApiJson, ApiPath},
    tenancy::{Principal, Role, accounts},
    types::{CompanyName, Email, ExternalId},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_company, update_company))
        .routes(routes!(list_members, add_member))
        .routes(routes!(change_member_role, remove_member))
}

/// The current company
#[utoipa::path(get, path = "/companies/current", tag = "companies",
    responses((status = 200, description = "The company you act for", body = CompanyView)))]
async fn get_company(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<CompanyView>> {
    Ok(Json(
        accounts::company(&state.db, principal.company_id)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCompanyRequest {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    #[serde(default)]
    name: Option<String>,
    /// The CRM's own id for this company; unique across companies. `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    external_id: Option<Option<String>>,
}

/// Rename the company or set its CRM id (admin)
#[utoipa::path(patch, path = "/companies/current", tag = "companies",
    request_body = UpdateCompanyRequest,
    responses(
        (status = 200, description = "Updated", body = CompanyView),
        (status = 403, description = "`forbidden`: needs admin or owner", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`external_id_taken`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn update_company(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiJson(body): ApiJson<UpdateCompanyRequest>,
) -> Result<Json<CompanyView>> {
    let update = accounts::CompanyUpdate {
        name: body
            .name
            .as_deref()
            .map(|n| CompanyName::parse("name", n))
            .transpose()?,
        external_id: body
            .external_id
            .map(|v| {
                v.as_deref()
                    .map(|e| ExternalId::parse("externalId", e))
                    .transpose()
            })
            .transpose()?,
    };
    Ok(Json(
        accounts::update_company(&state.db, principal.company_id, update)
            .await?
            .into(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    user: UserView,
    role: Role,
    joined_at: DateTime<Utc>,
}

impl From<accounts::Member> for MemberView {
    fn from(m: accounts::Member) -> Self {
        Self {
            user: m.user.into(),
            role: m.role,
            joined_at: m.joined_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberList {
    items: Vec<MemberView>,
}

/// The company's members
#[utoipa::path(get, path = "/companies/current/members", tag = "companies",
    responses((status = 200, description = "Members, oldest first", body = MemberList)))]
async fn list_members(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<MemberList>> {
    let items = accounts::members(&state.db, principal.company_id).await?;
    Ok(Json(MemberList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddMemberRequest {
    /// The email of an existing Switchboard account.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: String,
    role: Role,
}

/// Add a member (admin)
///
/// The person must already have a Switchboard account (they sign up with their own email).
/// Only an owner can add an owner.
#[utoipa::path(post, path = "/companies/current/members", tag = "companies",
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "Added", body = MemberView),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_member`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn add_member(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiJson(body): ApiJson<AddMemberRequest>,
) -> Result<(StatusCode, Json<MemberView>)> {
    let email = Email::parse("email", &body.email)?;
    let member = accounts::add_member(
        &state.db,
        principal.company_id,
        principal.role,
        &email,
        body.role,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(member.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The member's user id.
    #[param(value_type = Uuid)]
    user_id: UserId,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRoleRequest {
    role: Role,
}

/// Change a member's role (admin)
///
/// Only an owner can grant or take away `owner`; the last owner cannot be demoted.
#[utoipa::path(patch, path = "/companies/current/members/{userId}", tag = "companies",
    params(MemberPath), request_body = ChangeRoleRequest,
    responses(
        (status = 200, description = "Changed", body = MemberView),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_owner`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn change_member_role(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<MemberPath>,
    ApiJson(body): ApiJson<ChangeRoleRequest>,
) -> Result<Json<MemberView>> {
    let member = accounts::change_role(
        &state.db,
        principal.company_id,
        principal.role,
        path.user_id,
        body.role,
    )
    .await?;
    Ok(Json(member.into()))
}

/// Remove a member (admin)
#[utoipa::path(delete, path = "/companies/current/members/{userId}", tag = "companies",
    params(MemberPath),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_owner`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn remove_member(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
    ApiPath(path): ApiPath<MemberPath>,
) -> Result<StatusCode> {
    accounts::remove_member(
        &state.db,
        principal.company_id,
        principal.role,
        path.user_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

use sea_orm::entity::prelude::*;

use crate::ids::{CompanyId, LeadId};

/// A GitHub issue or pull request linked to a lead's conversation. The same issue may be linked
/// to several leads of one company; one lead links it once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: CompanyId,
    pub lead_id: LeadId,
    /// `github:owner/repo#123`, owner and repository in lowercase (GitHub's names are not case
    /// sensitive), so one issue has one reference however it was typed.
    pub reference: String,
    /// `owner/repo` as GitHub spells it.
    pub repository: String,
    pub number: i32,
    pub kind: LinkKind,
    pub title: String,
    pub state: LinkState,
    /// A pull request that was merged (closed pull requests may be merged or not).
    pub merged: bool,
    /// The issue's or pull request's page.
    pub url: String,
    /// GitHub's `ETag` of the last answer, sent back as `If-None-Match` when polling.
    pub etag: Option<String>,
    /// Who linked it (an audit actor).
    pub created_by: String,
    /// When GitHub was last asked about it (polling).
    pub checked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What a link points at.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    #[sea_orm(string_value = "issue")]
    Issue,
    #[sea_orm(string_value = "pull_request")]
    PullRequest,
}

/// Whether the linked issue or pull request is open on GitHub.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    #[sea_orm(string_value = "open")]
    Open,
    #[sea_orm(string_value = "closed")]
    Closed,
}

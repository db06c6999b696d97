use sea_orm::entity::prelude::*;

use crate::ids::CompanyId;

/// The webhook Switchboard registered (or tried to) on a linked repository.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "github_hooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: CompanyId,
    pub integration_id: Uuid,
    /// `owner/repo`, lowercase.
    pub repository: String,
    /// GitHub's hook id, once registered.
    pub hook_id: Option<i64>,
    pub state: HookState,
    /// Why registering failed (the token may not administer the repository's hooks).
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Whether GitHub accepted the hook.
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
pub enum HookState {
    /// Registered: GitHub sends `issues` and `pull_request` events of the repository.
    #[sea_orm(string_value = "active")]
    Active,
    /// GitHub refused it (`lastError` says why); set the hook up by hand, or rely on polling.
    #[sea_orm(string_value = "failed")]
    Failed,
}

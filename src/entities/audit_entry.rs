use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: crate::ids::CompanyId,
    /// `user:{id}`, `api_key:{id}` or `system`.
    pub actor: String,
    /// Dotted verb: `integration.connected`, `integration.disconnected`, …
    pub action: String,
    pub target: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub detail: Json,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

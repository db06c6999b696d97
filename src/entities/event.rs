use sea_orm::entity::prelude::*;

/// A live event as published to SSE streams, kept for `Last-Event-ID` replay (`events`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: crate::ids::CompanyId,
    /// Increasing per company, in commit order: the SSE `id`.
    pub seq: i64,
    pub lead_id: Option<crate::ids::LeadId>,
    /// `message.created`, `message.updated`, `lead.updated`, `channel.created`,
    /// `channel.archived`.
    pub kind: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A live event recorded by a committed change, waiting for its id (`pending_events`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pending_events")]
pub struct Model {
    /// Increasing in insertion order: the order the events get their ids in.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub company_id: crate::ids::CompanyId,
    pub lead_id: Option<crate::ids::LeadId>,
    pub kind: String,
    /// The id the event will have in `events`, chosen when it is recorded so that webhook
    /// deliveries queued with it can name it.
    pub event_id: Option<Uuid>,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

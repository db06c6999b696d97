use sea_orm::entity::prelude::*;

/// One run of a sync (a migration of DM leads, a catch-up after an outage).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `None` for a run over every company.
    pub company_id: Option<crate::ids::CompanyId>,
    /// e.g. `lead_channels`, `messages`.
    pub resource_type: String,
    /// `full` or `incremental`.
    pub sync_type: String,
    pub started_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub synced_until: Option<DateTimeUtc>,
    pub records_synced: i32,
    pub records_created: i32,
    pub records_updated: i32,
    pub records_failed: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub errors: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

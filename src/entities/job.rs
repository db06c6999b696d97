use sea_orm::entity::prelude::*;

/// The durable outbox: work that must happen even if this process dies now.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: Option<crate::ids::CompanyId>,
    /// e.g. `deliver_message`.
    pub kind: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub state: JobState,
    pub attempts: i32,
    pub run_at: DateTimeUtc,
    /// A running job whose worker died is claimed again after this.
    pub locked_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Jobs of one queue run one at a time (channel creations per guild); `None` for jobs that
    /// may run side by side.
    pub queue: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a job stands.
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
pub enum JobState {
    /// Waiting for `runAt`.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a worker (claimed again when its lease runs out).
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "done")]
    Done,
    /// Out of attempts, or failed for good; `lastError` says why. Retry through the API.
    #[sea_orm(string_value = "dead")]
    Dead,
}

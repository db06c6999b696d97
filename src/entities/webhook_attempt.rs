use sea_orm::entity::prelude::*;

use crate::ids::CompanyId;

/// One attempt to deliver one message to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: CompanyId,
    pub endpoint_id: Uuid,
    /// The delivery job; resending runs it again.
    pub job_id: Uuid,
    /// The `webhook-id` header: the same on every attempt of the message.
    pub message_id: String,
    pub event_type: String,
    pub attempt: i32,
    /// The receiver's status; `None` when it did not answer.
    pub status_code: Option<i32>,
    pub duration_ms: i32,
    /// The first bytes of the receiver's answer.
    pub response_excerpt: Option<String>,
    /// Why the attempt failed without an answer (timeout, refused address, …).
    pub error: Option<String>,
    pub outcome: AttemptOutcome,
    /// When the next attempt runs, if one will.
    pub next_retry_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How an attempt ended.
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
pub enum AttemptOutcome {
    /// A 2xx answer.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Another answer or none; retried unless it was the last attempt.
    #[sea_orm(string_value = "failed")]
    Failed,
}

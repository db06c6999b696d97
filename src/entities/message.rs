use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: crate::ids::CompanyId,
    pub lead_id: crate::ids::LeadId,
    /// The guild's Discord id; empty for a direct message (the column is NOT NULL), so it stays
    /// text rather than a `Snowflake`.
    pub guild_id: String,
    pub channel_id: crate::types::Snowflake,
    pub direction: Direction,
    /// `crm:{userId}`, `crm:api_key:{id}`, `discord:{userId}`.
    pub author_meta_id: String,
    /// Who wrote it, as a person reads it, when it was written: a teammate's email, an API
    /// key's name, a Discord member's name. `None` for rows older than the column.
    pub author_name: Option<String>,
    pub content: String,
    pub state: MessageState,
    /// Unique when set: a Discord message is stored once.
    pub discord_message_id: Option<crate::types::Snowflake>,
    /// Unique per company.
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request, to tell a replay from a reused key.
    pub request_hash: Option<String>,
    /// `api`, `github`, `discord`, …
    pub origin: String,
    pub failure_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Which way a message went.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the CRM to the lead.
    #[sea_orm(string_value = "outbound")]
    Outbound,
    /// From Discord: the lead or another member of the server.
    #[sea_orm(string_value = "inbound")]
    Inbound,
}

/// Where a message's delivery stands.
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
pub enum MessageState {
    /// Accepted and waiting for (another) delivery attempt.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// Posted to Discord.
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Given up; `failureReason` says why. Retry through the jobs API.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// An inbound message, stored as Discord delivered it.
    #[sea_orm(string_value = "received")]
    Received,
}

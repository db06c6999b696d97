use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: Uuid,
    pub lead_id: Uuid,
    pub guild_id: String,
    pub channel_id: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `crm:{userId}`, `crm:api_key:{id}`, `discord:{userId}`.
    pub author_meta_id: String,
    pub content: String,
    /// `queued`, `sent`, `failed` or `received`.
    pub state: String,
    /// Unique when set: a Discord message is stored once.
    pub discord_message_id: Option<String>,
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

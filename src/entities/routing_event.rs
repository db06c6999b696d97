use sea_orm::entity::prelude::*;

/// How one inbound Discord event was resolved (`routing_events`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "routing_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The company whose server the event came from; `None` when no company owns it.
    pub company_id: Option<Uuid>,
    /// `MESSAGE_CREATE`, …
    pub event_type: String,
    /// `gateway` or `catchup`.
    pub source: String,
    pub guild_id: Option<String>,
    pub channel_id: Option<String>,
    /// Unique when set: one decision per Discord message.
    pub discord_message_id: Option<String>,
    pub author_id: Option<String>,
    pub lead_id: Option<Uuid>,
    /// `routed`, `rejected` or `ignored`.
    pub decision: String,
    pub reason: Option<String>,
    /// The steps taken: guild → company → channel → lead.
    #[sea_orm(column_type = "JsonBinary")]
    pub path: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

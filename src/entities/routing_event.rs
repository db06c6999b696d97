use sea_orm::entity::prelude::*;

/// How one inbound Discord event was resolved (`routing_events`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "routing_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The company whose server the event came from; `None` when no company owns it.
    pub company_id: Option<crate::ids::CompanyId>,
    /// `MESSAGE_CREATE`, …
    pub event_type: String,
    pub source: RoutingSource,
    pub guild_id: Option<crate::types::Snowflake>,
    pub channel_id: Option<crate::types::Snowflake>,
    /// Unique when set: one decision per Discord message.
    pub discord_message_id: Option<crate::types::Snowflake>,
    pub author_id: Option<crate::types::Snowflake>,
    pub lead_id: Option<crate::ids::LeadId>,
    pub decision: RoutingDecision,
    pub reason: Option<String>,
    /// The steps taken: guild → company → channel → lead.
    #[sea_orm(column_type = "JsonBinary")]
    pub path: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where the event was read.
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
pub enum RoutingSource {
    /// Delivered live by the gateway.
    #[sea_orm(string_value = "gateway")]
    Gateway,
    /// Read from a channel's history after the gateway was away.
    #[sea_orm(string_value = "catchup")]
    Catchup,
}

/// What routing made of the event.
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
pub enum RoutingDecision {
    /// Stored for exactly one lead (or, for a platform event, acted on).
    #[sea_orm(string_value = "routed")]
    Routed,
    /// Refused: it would have crossed companies or reached an archived channel; `reason` says.
    #[sea_orm(string_value = "rejected")]
    Rejected,
    /// Not for routing (the bot's own message, a system message, …); `reason` says.
    #[sea_orm(string_value = "ignored")]
    Ignored,
}

impl RoutingDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Routed => "routed",
            Self::Rejected => "rejected",
            Self::Ignored => "ignored",
        }
    }
}

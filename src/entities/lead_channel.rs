use sea_orm::entity::prelude::*;

/// A lead's private Discord channel (`discord_lead_channels`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "discord_lead_channels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: crate::ids::CompanyId,
    pub owner_user_id: Option<crate::ids::UserId>,
    /// Unique: one channel per lead.
    pub lead_id: crate::ids::LeadId,
    pub guild_id: crate::types::Snowflake,
    /// Unique.
    pub channel_id: crate::types::Snowflake,
    pub channel_name: String,
    pub category_id: Option<crate::types::Snowflake>,
    pub discord_user_id: Option<crate::types::Snowflake>,
    pub discord_username: Option<String>,
    pub channel_created_at: DateTimeUtc,
    pub last_message_at: Option<DateTimeUtc>,
    pub message_count: i32,
    pub is_active: bool,
    /// The newest Discord message id (a snowflake) seen in the channel: where catch-up reads
    /// from.
    pub last_message_id: Option<i64>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

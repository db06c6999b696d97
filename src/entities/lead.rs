use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: crate::ids::LeadId,
    pub company_id: crate::ids::CompanyId,
    pub owner_user_id: Option<crate::ids::UserId>,
    pub name: String,
    pub email: Option<String>,
    pub discord_user_id: Option<crate::types::Snowflake>,
    pub discord_username: Option<String>,
    pub discord_channel_id: Option<crate::types::Snowflake>,
    pub discord_invite_sent: bool,
    pub discord_joined_channel: bool,
    pub status: LeadStatus,
    pub last_contact_at: Option<DateTimeUtc>,
    /// The newest message's time, or the lead's creation: what the inbox sorts by.
    pub last_activity_at: DateTimeUtc,
    /// The newest message: the start of its text, its direction and who wrote it.
    pub last_message_preview: Option<String>,
    pub last_message_direction: Option<super::message::Direction>,
    pub last_message_author: Option<String>,
    pub last_message_at: Option<DateTimeUtc>,
    /// Inbound messages since a teammate last read the conversation.
    pub unread_count: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a lead's conversation stands.
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
pub enum LeadStatus {
    #[sea_orm(string_value = "open")]
    Open,
    #[sea_orm(string_value = "resolved")]
    Resolved,
    #[sea_orm(string_value = "closed")]
    Closed,
}

impl LeadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Open => "open",
            LeadStatus::Resolved => "resolved",
            LeadStatus::Closed => "closed",
        }
    }
}

impl std::fmt::Display for LeadStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LeadStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "open" => Ok(LeadStatus::Open),
            "resolved" => Ok(LeadStatus::Resolved),
            "closed" => Ok(LeadStatus::Closed),
            _ => Err(()),
        }
    }
}

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: Uuid,
    pub owner_user_id: Option<Uuid>,
    pub name: String,
    pub email: Option<String>,
    pub discord_user_id: Option<String>,
    pub discord_username: Option<String>,
    pub discord_channel_id: Option<String>,
    pub discord_invite_sent: bool,
    pub discord_joined_channel: bool,
    /// `open`, `resolved` or `closed` (see `leads::LeadStatus`).
    pub status: String,
    pub last_contact_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "discord_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique: one guild per company.
    pub company_id: Uuid,
    /// Unique: one company per guild.
    pub guild_id: String,
    pub guild_name: String,
    /// `false` once the company disconnected or the bot was removed.
    pub bot_invited: bool,
    /// The permission bitfield granted at install, as Discord writes it (a decimal string).
    pub bot_permissions: String,
    pub synced_channels_count: i32,
    /// `connected`, `degraded` or `disconnected`.
    pub health: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

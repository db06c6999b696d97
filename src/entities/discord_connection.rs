use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "discord_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique: one guild per company.
    pub company_id: crate::ids::CompanyId,
    /// Unique: one company per guild.
    pub guild_id: crate::types::Snowflake,
    pub guild_name: String,
    /// `false` once the company disconnected or the bot was removed.
    pub bot_invited: bool,
    /// The permission bitfield granted at install, as Discord writes it (a decimal string).
    pub bot_permissions: String,
    pub synced_channels_count: i32,
    pub health: Health,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How a connection stands.
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
pub enum Health {
    /// Working.
    #[sea_orm(string_value = "connected")]
    Connected,
    /// Working with a warning: the server is out, near its channel limit, or refused a call.
    #[sea_orm(string_value = "degraded")]
    Degraded,
    /// Not working: disconnected here or the bot was removed.
    #[sea_orm(string_value = "disconnected")]
    Disconnected,
    /// A provider other than Discord whose grant failed its last check.
    #[sea_orm(string_value = "error")]
    Error,
}

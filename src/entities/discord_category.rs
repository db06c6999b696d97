use sea_orm::entity::prelude::*;

/// A category Switchboard created to hold lead channels (Discord allows 50 per category).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "discord_categories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: crate::types::Snowflake,
    pub category_id: crate::types::Snowflake,
    /// 1, 2, 3…: "Leads 1", "Leads 2".
    pub number: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A lead channel being made in the background, or whose making failed: one per lead. The row
/// goes when the channel exists (a `discord_lead_channels` row).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channel_provisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: crate::ids::CompanyId,
    pub lead_id: crate::ids::LeadId,
    pub guild_id: crate::types::Snowflake,
    pub state: ProvisionState,
    pub last_error: Option<String>,
    /// The job that makes the channel.
    pub job_id: Option<Uuid>,
    /// Who asked (an audit actor).
    pub requested_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where making a lead's channel stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ProvisionState {
    /// Queued or being made at Discord.
    #[sea_orm(string_value = "provisioning")]
    Provisioning,
    /// Could not be made; `last_error` says why.
    #[sea_orm(string_value = "failed")]
    Failed,
}

use sea_orm::entity::prelude::*;

/// The durable outbox: work that must happen even if this process dies now.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: Option<crate::ids::CompanyId>,
    pub kind: JobKind,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub state: JobState,
    pub attempts: i32,
    pub run_at: DateTimeUtc,
    /// A running job whose worker died is claimed again after this.
    pub locked_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Jobs of one queue run one at a time (channel creations per guild); `None` for jobs that
    /// may run side by side.
    pub queue: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What a job does; each kind has its own worker.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Posts an outbound message to its lead's channel (`payload.messageId`).
    #[sea_orm(string_value = "deliver_message")]
    DeliverMessage,
    /// Makes a lead's channel at Discord (`payload.leadId`), one at a time per server.
    #[sea_orm(string_value = "create_lead_channel")]
    CreateLeadChannel,
    /// Discord-side work after a committed change: the bot leaving a server, a deleted lead's
    /// channel closed to them (`payload.action`).
    #[sea_orm(string_value = "discord_cleanup")]
    DiscordCleanup,
    /// Delivers one event to one of the company's webhook endpoints (`payload.endpointId`,
    /// `payload.eventId`, or an inline `payload.message` for test events).
    #[sea_orm(string_value = "deliver_webhook")]
    DeliverWebhook,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeliverMessage => "deliver_message",
            Self::CreateLeadChannel => "create_lead_channel",
            Self::DiscordCleanup => "discord_cleanup",
            Self::DeliverWebhook => "deliver_webhook",
        }
    }
}

/// Where a job stands.
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
pub enum JobState {
    /// Waiting for `runAt`.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a worker (claimed again when its lease runs out).
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "done")]
    Done,
    /// Out of attempts, or failed for good; `lastError` says why. Retry through the API.
    #[sea_orm(string_value = "dead")]
    Dead,
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    #[test]
    fn a_job_kind_has_one_name_in_the_database_on_the_wire_and_in_logs() {
        for kind in JobKind::iter() {
            assert_eq!(kind.to_value(), kind.as_str());
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::json!(kind.as_str()))
            );
        }
    }
}

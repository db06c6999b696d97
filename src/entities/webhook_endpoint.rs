use sea_orm::entity::prelude::*;

use crate::ids::CompanyId;

/// A company's receiver of webhooks (its CRM backend).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: CompanyId,
    pub url: String,
    pub description: String,
    /// The event types it receives; `None` for every type.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub event_types: Option<Json>,
    pub enabled: bool,
    /// The signing secret (`whsec_…`), encrypted like tokens.
    pub secret_enc: String,
    /// The secret before the last rotation, still signing until `previous_secret_expires_at`.
    pub previous_secret_enc: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    pub health: EndpointHealth,
    /// Why it was disabled (by an admin, a 410, or five days of failures).
    pub disabled_reason: Option<String>,
    /// The first failure since the last success.
    pub failing_since: Option<DateTimeUtc>,
    pub last_success_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How an endpoint's deliveries are going.
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
pub enum EndpointHealth {
    /// Its last delivery succeeded (or none was made yet).
    #[sea_orm(string_value = "healthy")]
    Healthy,
    /// Deliveries are failing; retries continue. After five days of failures it is disabled.
    #[sea_orm(string_value = "degraded")]
    Degraded,
    /// Disabled: by an admin, by a `410 Gone`, or after five days of failures.
    #[sea_orm(string_value = "disabled")]
    Disabled,
}

use sea_orm::entity::prelude::*;

use crate::ids::CompanyId;

/// A provider's webhook delivery, processed once: a redelivery of the same id changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: CompanyId,
    pub integration_id: Uuid,
    /// `github`.
    pub provider: String,
    /// GitHub's `X-GitHub-Delivery`; unique per integration.
    pub delivery_id: String,
    /// `X-GitHub-Event`: `issues`, `pull_request`, `ping`, …
    pub event: String,
    pub action: Option<String>,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

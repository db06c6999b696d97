//! GitHub issues and pull requests linked to leads, and GitHub's webhooks:
//! - `lead_links`: a lead's linked issue or pull request, unique per (lead, reference), deleted
//!   with the lead; `etag` keeps the last answer's validator for conditional polling;
//! - `webhook_deliveries`: each delivery processed once per integration (GitHub gives every hook
//!   subscribed to an event the same `X-GitHub-Delivery`, so the id alone is not unique);
//! - `github_hooks`: the hook registered on each linked repository, to remove it with the last
//!   link;
//! - `integrations.webhook_secret_enc` (encrypted like tokens) and `last_webhook_at` (polling
//!   runs when webhooks have gone quiet).
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    m20261124_000001_create_tenancy::Companies, m20261124_000003_create_leads::Leads, util,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let integrations = Alias::new("integrations");
        // SQLite alters one column per statement.
        for column in [
            text_null(Alias::new("webhook_secret_enc")),
            timestamp_with_time_zone_null(Alias::new("last_webhook_at")),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(integrations.clone())
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(LeadLinks::Table)
                    .col(pk_uuid(LeadLinks::Id))
                    .col(uuid(LeadLinks::CompanyId))
                    .col(uuid(LeadLinks::LeadId))
                    .col(string_len(LeadLinks::Reference, 200))
                    .col(string_len(LeadLinks::Repository, 140))
                    .col(integer(LeadLinks::Number))
                    .col(string_len(LeadLinks::Kind, 16))
                    .col(text(LeadLinks::Title))
                    .col(string_len(LeadLinks::State, 16))
                    .col(boolean(LeadLinks::Merged).default(false))
                    .col(text(LeadLinks::Url))
                    .col(text_null(LeadLinks::Etag))
                    .col(string_len(LeadLinks::CreatedBy, 128))
                    .col(timestamp_with_time_zone_null(LeadLinks::CheckedAt))
                    .col(timestamp_with_time_zone(LeadLinks::CreatedAt))
                    .col(timestamp_with_time_zone(LeadLinks::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LeadLinks::Table, LeadLinks::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(LeadLinks::Table, LeadLinks::LeadId)
                            .to(Leads::Table, Leads::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "lead_links_lead_reference_key",
            LeadLinks::Table,
            [LeadLinks::LeadId, LeadLinks::Reference],
            true,
        )
        .await?;
        // A webhook finds every lead of the company linked to one issue.
        util::index(
            manager,
            "lead_links_company_reference_idx",
            LeadLinks::Table,
            [LeadLinks::CompanyId, LeadLinks::Reference],
            false,
        )
        .await?;
        util::index(
            manager,
            "lead_links_company_state_idx",
            LeadLinks::Table,
            [LeadLinks::CompanyId, LeadLinks::State],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::CompanyId))
                    .col(uuid(WebhookDeliveries::IntegrationId))
                    .col(string_len(WebhookDeliveries::Provider, 32))
                    .col(string_len(WebhookDeliveries::DeliveryId, 64))
                    .col(string_len(WebhookDeliveries::Event, 64))
                    .col(string_len_null(WebhookDeliveries::Action, 64))
                    .col(timestamp_with_time_zone(WebhookDeliveries::ReceivedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "webhook_deliveries_integration_delivery_key",
            WebhookDeliveries::Table,
            [
                WebhookDeliveries::IntegrationId,
                WebhookDeliveries::DeliveryId,
            ],
            true,
        )
        .await?;
        util::index(
            manager,
            "webhook_deliveries_received_at_idx",
            WebhookDeliveries::Table,
            [WebhookDeliveries::ReceivedAt],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(GithubHooks::Table)
                    .col(pk_uuid(GithubHooks::Id))
                    .col(uuid(GithubHooks::CompanyId))
                    .col(uuid(GithubHooks::IntegrationId))
                    .col(string_len(GithubHooks::Repository, 140))
                    .col(big_integer_null(GithubHooks::HookId))
                    .col(string_len(GithubHooks::State, 16))
                    .col(text_null(GithubHooks::LastError))
                    .col(timestamp_with_time_zone(GithubHooks::CreatedAt))
                    .col(timestamp_with_time_zone(GithubHooks::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GithubHooks::Table, GithubHooks::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "github_hooks_integration_repository_key",
            GithubHooks::Table,
            [GithubHooks::IntegrationId, GithubHooks::Repository],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            GithubHooks::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            LeadLinks::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in ["last_webhook_at", "webhook_secret_enc"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("integrations"))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum LeadLinks {
    Table,
    Id,
    CompanyId,
    LeadId,
    Reference,
    Repository,
    Number,
    Kind,
    Title,
    State,
    Merged,
    Url,
    Etag,
    CreatedBy,
    CheckedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    CompanyId,
    IntegrationId,
    Provider,
    DeliveryId,
    Event,
    Action,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum GithubHooks {
    Table,
    Id,
    CompanyId,
    IntegrationId,
    Repository,
    HookId,
    State,
    LastError,
    CreatedAt,
    UpdatedAt,
}

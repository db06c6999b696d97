//! Webhooks to the CRM:
//! - `webhook_endpoints`: a company's receivers, with their event-type filter, encrypted signing
//!   secret (and the previous one while it is still valid after a rotation), and health;
//! - `webhook_attempts`: every delivery attempt, for the delivery log and resends;
//! - `pending_events.event_id`: an event's id is chosen when it is recorded (it becomes
//!   `events.id`), so the delivery jobs written in the same transaction can name it.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{m20261124_000001_create_tenancy::Companies, util};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("pending_events"))
                    .add_column(uuid_null(Alias::new("event_id")))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_uuid(WebhookEndpoints::Id))
                    .col(uuid(WebhookEndpoints::CompanyId))
                    .col(text(WebhookEndpoints::Url))
                    .col(string_len(WebhookEndpoints::Description, 500))
                    .col(json_binary_null(WebhookEndpoints::EventTypes))
                    .col(boolean(WebhookEndpoints::Enabled))
                    .col(text(WebhookEndpoints::SecretEnc))
                    .col(text_null(WebhookEndpoints::PreviousSecretEnc))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::PreviousSecretExpiresAt,
                    ))
                    .col(string_len(WebhookEndpoints::Health, 16))
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::FailingSince,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::LastSuccessAt,
                    ))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookEndpoints::Table, WebhookEndpoints::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "webhook_endpoints_company_enabled_idx",
            WebhookEndpoints::Table,
            [WebhookEndpoints::CompanyId, WebhookEndpoints::Enabled],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(pk_uuid(WebhookAttempts::Id))
                    .col(uuid(WebhookAttempts::CompanyId))
                    .col(uuid(WebhookAttempts::EndpointId))
                    .col(uuid(WebhookAttempts::JobId))
                    .col(string_len(WebhookAttempts::MessageId, 64))
                    .col(string_len(WebhookAttempts::EventType, 64))
                    .col(integer(WebhookAttempts::Attempt))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(integer(WebhookAttempts::DurationMs))
                    .col(text_null(WebhookAttempts::ResponseExcerpt))
                    .col(text_null(WebhookAttempts::Error))
                    .col(string_len(WebhookAttempts::Outcome, 16))
                    .col(timestamp_with_time_zone_null(WebhookAttempts::NextRetryAt))
                    .col(timestamp_with_time_zone(WebhookAttempts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookAttempts::Table, WebhookAttempts::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "webhook_attempts_endpoint_idx",
            WebhookAttempts::Table,
            [WebhookAttempts::EndpointId, WebhookAttempts::Id],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookAttempts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("pending_events"))
                    .drop_column(Alias::new("event_id"))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    CompanyId,
    Url,
    Description,
    EventTypes,
    Enabled,
    SecretEnc,
    PreviousSecretEnc,
    PreviousSecretExpiresAt,
    Health,
    DisabledReason,
    FailingSince,
    LastSuccessAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    CompanyId,
    EndpointId,
    JobId,
    MessageId,
    EventType,
    Attempt,
    StatusCode,
    DurationMs,
    ResponseExcerpt,
    Error,
    Outcome,
    NextRetryAt,
    CreatedAt,
}

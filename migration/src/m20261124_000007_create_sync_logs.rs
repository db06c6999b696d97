use sea_orm_migration::{prelude::*, schema::*};

use crate::util;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncLogs::Table)
                    .col(pk_uuid(SyncLogs::Id))
                    .col(uuid_null(SyncLogs::CompanyId))
                    .col(string_len(SyncLogs::ResourceType, 32))
                    .col(string_len(SyncLogs::SyncType, 16))
                    .col(timestamp_with_time_zone(SyncLogs::StartedAt))
                    .col(timestamp_with_time_zone_null(SyncLogs::CompletedAt))
                    .col(timestamp_with_time_zone_null(SyncLogs::SyncedUntil))
                    .col(integer(SyncLogs::RecordsSynced).default(0))
                    .col(integer(SyncLogs::RecordsCreated).default(0))
                    .col(integer(SyncLogs::RecordsUpdated).default(0))
                    .col(integer(SyncLogs::RecordsFailed).default(0))
                    .col(json_binary(SyncLogs::Errors))
                    .col(json_binary(SyncLogs::Metadata))
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "sync_logs_company_started_idx",
            SyncLogs::Table,
            [SyncLogs::CompanyId, SyncLogs::StartedAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SyncLogs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SyncLogs {
    Table,
    Id,
    CompanyId,
    ResourceType,
    SyncType,
    StartedAt,
    CompletedAt,
    SyncedUntil,
    RecordsSynced,
    RecordsCreated,
    RecordsUpdated,
    RecordsFailed,
    Errors,
    Metadata,
}

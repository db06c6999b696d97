//! Live events waiting for their id. A change records its events here inside its own
//! transaction; right after commit they are moved to `events` with the company's next ids in
//! one short transaction, so concurrent changes of one company no longer wait on each other's
//! commit for their ids.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{m20261124_000001_create_tenancy::Companies, util};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PendingEvents::Table)
                    // Increasing in insertion order: the order the events get their ids in.
                    .col(big_pk_auto(PendingEvents::Id))
                    .col(uuid(PendingEvents::CompanyId))
                    .col(uuid_null(PendingEvents::LeadId))
                    .col(string_len(PendingEvents::Kind, 32))
                    .col(json_binary(PendingEvents::Payload))
                    .col(timestamp_with_time_zone(PendingEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PendingEvents::Table, PendingEvents::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "pending_events_company_idx",
            PendingEvents::Table,
            [PendingEvents::CompanyId, PendingEvents::Id],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PendingEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PendingEvents {
    Table,
    Id,
    CompanyId,
    LeadId,
    Kind,
    Payload,
    CreatedAt,
}

use sea_orm_migration::{prelude::*, schema::*};

use crate::util;

use crate::m20261124_000001_create_tenancy::{Companies, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Leads::Table)
                    .col(pk_uuid(Leads::Id))
                    .col(uuid(Leads::CompanyId))
                    .col(uuid_null(Leads::OwnerUserId))
                    .col(string_len(Leads::Name, 200))
                    .col(string_len_null(Leads::Email, 254))
                    .col(string_len_null(Leads::DiscordUserId, 20))
                    .col(string_len_null(Leads::DiscordUsername, 32))
                    .col(string_len_null(Leads::DiscordChannelId, 20))
                    .col(boolean(Leads::DiscordInviteSent).default(false))
                    .col(boolean(Leads::DiscordJoinedChannel).default(false))
                    .col(string_len(Leads::Status, 16).default("open"))
                    .col(timestamp_with_time_zone_null(Leads::LastContactAt))
                    .col(timestamp_with_time_zone(Leads::CreatedAt))
                    .col(timestamp_with_time_zone(Leads::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Leads::Table, Leads::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Leads::Table, Leads::OwnerUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // Listing is always "this company's leads, newest first": ids are UUIDv7, so
        // (company_id, id) serves both the filter and the cursor order.
        util::index(
            manager,
            "leads_company_id_idx",
            Leads::Table,
            [Leads::CompanyId, Leads::Id],
            false,
        )
        .await?;
        util::index(
            manager,
            "leads_company_status_idx",
            Leads::Table,
            [Leads::CompanyId, Leads::Status, Leads::Id],
            false,
        )
        .await?;
        util::index(
            manager,
            "leads_company_owner_idx",
            Leads::Table,
            [Leads::CompanyId, Leads::OwnerUserId, Leads::Id],
            false,
        )
        .await?;
        util::index(
            manager,
            "leads_discord_user_id_idx",
            Leads::Table,
            [Leads::DiscordUserId],
            false,
        )
        .await?;
        util::index(
            manager,
            "leads_discord_channel_id_key",
            Leads::Table,
            [Leads::DiscordChannelId],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Leads::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Leads {
    Table,
    Id,
    CompanyId,
    OwnerUserId,
    Name,
    Email,
    DiscordUserId,
    DiscordUsername,
    DiscordChannelId,
    DiscordInviteSent,
    DiscordJoinedChannel,
    Status,
    LastContactAt,
    CreatedAt,
    UpdatedAt,
}

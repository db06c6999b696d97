use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    m20261124_000001_create_tenancy::{Companies, Users},
    util,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Integrations::Table)
                    .col(pk_uuid(Integrations::Id))
                    .col(uuid(Integrations::CompanyId))
                    .col(string_len(Integrations::Provider, 32))
                    .col(string_len(Integrations::Status, 16))
                    .col(json_binary(Integrations::Metadata))
                    .col(text_null(Integrations::AccessTokenEnc))
                    .col(text_null(Integrations::RefreshTokenEnc))
                    .col(timestamp_with_time_zone_null(Integrations::ExpiresAt))
                    .col(uuid_null(Integrations::ConnectedByUserId))
                    .col(timestamp_with_time_zone_null(Integrations::ConnectedAt))
                    .col(text_null(Integrations::LastError))
                    .col(integer(Integrations::ErrorCount).default(0))
                    .col(timestamp_with_time_zone(Integrations::CreatedAt))
                    .col(timestamp_with_time_zone(Integrations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Integrations::Table, Integrations::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Integrations::Table, Integrations::ConnectedByUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "integrations_company_provider_key",
            Integrations::Table,
            [Integrations::CompanyId, Integrations::Provider],
            true,
        )
        .await?;
        // The refresher looks for active integrations whose token expires soon.
        util::index(
            manager,
            "integrations_status_expires_at_idx",
            Integrations::Table,
            [Integrations::Status, Integrations::ExpiresAt],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(DiscordConnections::Table)
                    .col(pk_uuid(DiscordConnections::Id))
                    .col(uuid(DiscordConnections::CompanyId))
                    .col(string_len(DiscordConnections::GuildId, 20))
                    .col(string_len(DiscordConnections::GuildName, 100))
                    .col(boolean(DiscordConnections::BotInvited).default(false))
                    .col(string_len(DiscordConnections::BotPermissions, 20))
                    .col(integer(DiscordConnections::SyncedChannelsCount).default(0))
                    .col(string_len(DiscordConnections::Health, 16))
                    .col(timestamp_with_time_zone(DiscordConnections::CreatedAt))
                    .col(timestamp_with_time_zone(DiscordConnections::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DiscordConnections::Table, DiscordConnections::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One guild per company, one company per guild.
        util::index(
            manager,
            "discord_connections_company_id_key",
            DiscordConnections::Table,
            [DiscordConnections::CompanyId],
            true,
        )
        .await?;
        util::index(
            manager,
            "discord_connections_guild_id_key",
            DiscordConnections::Table,
            [DiscordConnections::GuildId],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DiscordConnections::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Integrations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
    CompanyId,
    Provider,
    Status,
    Metadata,
    AccessTokenEnc,
    RefreshTokenEnc,
    ExpiresAt,
    ConnectedByUserId,
    ConnectedAt,
    LastError,
    ErrorCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DiscordConnections {
    Table,
    Id,
    CompanyId,
    GuildId,
    GuildName,
    BotInvited,
    BotPermissions,
    SyncedChannelsCount,
    Health,
    CreatedAt,
    UpdatedAt,
}

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
                    .table(DiscordLeadChannels::Table)
                    .col(pk_uuid(DiscordLeadChannels::Id))
                    .col(uuid(DiscordLeadChannels::CompanyId))
                    .col(uuid_null(DiscordLeadChannels::OwnerUserId))
                    .col(uuid(DiscordLeadChannels::LeadId))
                    .col(string_len(DiscordLeadChannels::GuildId, 20))
                    .col(string_len(DiscordLeadChannels::ChannelId, 20))
                    .col(string_len(DiscordLeadChannels::ChannelName, 100))
                    .col(string_len_null(DiscordLeadChannels::CategoryId, 20))
                    .col(string_len_null(DiscordLeadChannels::DiscordUserId, 20))
                    .col(string_len_null(DiscordLeadChannels::DiscordUsername, 32))
                    .col(timestamp_with_time_zone(
                        DiscordLeadChannels::ChannelCreatedAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        DiscordLeadChannels::LastMessageAt,
                    ))
                    .col(integer(DiscordLeadChannels::MessageCount).default(0))
                    .col(boolean(DiscordLeadChannels::IsActive).default(true))
                    .col(timestamp_with_time_zone(DiscordLeadChannels::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DiscordLeadChannels::Table, DiscordLeadChannels::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DiscordLeadChannels::Table, DiscordLeadChannels::OwnerUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        use DiscordLeadChannels as C;
        util::index(
            manager,
            "discord_lead_channels_lead_id_key",
            C::Table,
            [C::LeadId],
            true,
        )
        .await?;
        util::index(
            manager,
            "discord_lead_channels_channel_id_key",
            C::Table,
            [C::ChannelId],
            true,
        )
        .await?;
        util::index(
            manager,
            "discord_lead_channels_company_active_idx",
            C::Table,
            [C::CompanyId, C::IsActive],
            false,
        )
        .await?;
        util::index(
            manager,
            "discord_lead_channels_guild_active_idx",
            C::Table,
            [C::GuildId, C::IsActive],
            false,
        )
        .await?;
        util::index(
            manager,
            "discord_lead_channels_category_idx",
            C::Table,
            [C::CategoryId],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(DiscordCategories::Table)
                    .col(pk_uuid(DiscordCategories::Id))
                    .col(string_len(DiscordCategories::GuildId, 20))
                    .col(string_len(DiscordCategories::CategoryId, 20))
                    .col(integer(DiscordCategories::Number))
                    .col(timestamp_with_time_zone(DiscordCategories::CreatedAt))
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "discord_categories_category_id_key",
            DiscordCategories::Table,
            [DiscordCategories::CategoryId],
            true,
        )
        .await?;
        util::index(
            manager,
            "discord_categories_guild_number_key",
            DiscordCategories::Table,
            [DiscordCategories::GuildId, DiscordCategories::Number],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DiscordCategories::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(DiscordLeadChannels::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum DiscordLeadChannels {
    Table,
    Id,
    CompanyId,
    OwnerUserId,
    LeadId,
    GuildId,
    ChannelId,
    ChannelName,
    CategoryId,
    DiscordUserId,
    DiscordUsername,
    ChannelCreatedAt,
    LastMessageAt,
    MessageCount,
    IsActive,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DiscordCategories {
    Table,
    Id,
    GuildId,
    CategoryId,
    Number,
    CreatedAt,
}

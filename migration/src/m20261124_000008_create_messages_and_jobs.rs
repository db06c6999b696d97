use sea_orm_migration::{prelude::*, schema::*};

use crate::{m20261124_000001_create_tenancy::Companies, util};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(messages_table(Messages::Table))
            .await?;
        messages_indexes(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(pk_uuid(Jobs::Id))
                    .col(uuid_null(Jobs::CompanyId))
                    .col(string_len(Jobs::Kind, 64))
                    .col(json_binary(Jobs::Payload))
                    .col(string_len(Jobs::State, 16))
                    .col(integer(Jobs::Attempts).default(0))
                    .col(timestamp_with_time_zone(Jobs::RunAt))
                    .col(timestamp_with_time_zone_null(Jobs::LockedUntil))
                    .col(text_null(Jobs::LastError))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "jobs_state_run_at_idx",
            Jobs::Table,
            [Jobs::State, Jobs::RunAt],
            false,
        )
        .await?;
        util::index(
            manager,
            "jobs_company_state_idx",
            Jobs::Table,
            [Jobs::CompanyId, Jobs::State],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Messages::Table).to_owned())
            .await
    }
}

/// The messages table as this step made it; a later step rebuilds it on SQLite from the same
/// definition.
pub fn messages_table(table: impl IntoIden) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(pk_uuid(Messages::Id))
        .col(uuid(Messages::CompanyId))
        .col(uuid(Messages::LeadId))
        .col(string_len(Messages::GuildId, 20))
        .col(string_len(Messages::ChannelId, 20))
        .col(string_len(Messages::Direction, 16))
        .col(string_len(Messages::AuthorMetaId, 64))
        .col(text(Messages::Content))
        .col(string_len(Messages::State, 16))
        .col(string_len_null(Messages::DiscordMessageId, 20))
        .col(string_len_null(Messages::IdempotencyKey, 255))
        .col(string_len_null(Messages::RequestHash, 64))
        .col(string_len(Messages::Origin, 32))
        .col(text_null(Messages::FailureReason))
        .col(timestamp_with_time_zone(Messages::CreatedAt))
        .col(timestamp_with_time_zone(Messages::UpdatedAt))
        .col(timestamp_with_time_zone_null(Messages::SentAt))
        .foreign_key(
            ForeignKey::create()
                .from(Messages::Table, Messages::CompanyId)
                .to(Companies::Table, Companies::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

/// The messages indexes as this step made them.
pub async fn messages_indexes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Messages as M;
    util::index(
        manager,
        "messages_discord_message_id_key",
        M::Table,
        [M::DiscordMessageId],
        true,
    )
    .await?;
    util::index(
        manager,
        "messages_company_idempotency_key",
        M::Table,
        [M::CompanyId, M::IdempotencyKey],
        true,
    )
    .await?;
    util::index(
        manager,
        "messages_company_created_idx",
        M::Table,
        [M::CompanyId, M::CreatedAt],
        false,
    )
    .await?;
    util::index(
        manager,
        "messages_guild_created_idx",
        M::Table,
        [M::GuildId, M::CreatedAt],
        false,
    )
    .await?;
    util::index(
        manager,
        "messages_lead_created_idx",
        M::Table,
        [M::LeadId, M::CreatedAt],
        false,
    )
    .await?;
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Messages {
    Table,
    Id,
    CompanyId,
    LeadId,
    GuildId,
    ChannelId,
    Direction,
    AuthorMetaId,
    Content,
    State,
    DiscordMessageId,
    IdempotencyKey,
    RequestHash,
    Origin,
    FailureReason,
    CreatedAt,
    UpdatedAt,
    SentAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Jobs {
    Table,
    Id,
    CompanyId,
    Kind,
    Payload,
    State,
    Attempts,
    RunAt,
    LockedUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
}

//! Inbound routing decisions, the live-event log behind `Last-Event-ID`, and the cursors that
//! catch-up reads from.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{m20261124_000001_create_tenancy::Companies, util};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Per-company event sequence: taken under the company row's lock inside the
        // transaction that records the event, so ids commit in order.
        manager
            .alter_table(
                Table::alter()
                    .table(Companies::Table)
                    .add_column(big_integer(Alias::new("event_seq")).default(0))
                    .to_owned(),
            )
            .await?;
        // The newest Discord message id seen in a lead channel (a snowflake), where catch-up
        // starts reading.
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("discord_lead_channels"))
                    .add_column(big_integer_null(Alias::new("last_message_id")))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RoutingEvents::Table)
                    .col(pk_uuid(RoutingEvents::Id))
                    .col(uuid_null(RoutingEvents::CompanyId))
                    .col(string_len(RoutingEvents::EventType, 32))
                    .col(string_len(RoutingEvents::Source, 16))
                    .col(string_len_null(RoutingEvents::GuildId, 20))
                    .col(string_len_null(RoutingEvents::ChannelId, 20))
                    .col(string_len_null(RoutingEvents::DiscordMessageId, 20))
                    .col(string_len_null(RoutingEvents::AuthorId, 20))
                    .col(uuid_null(RoutingEvents::LeadId))
                    .col(string_len(RoutingEvents::Decision, 16))
                    .col(string_len_null(RoutingEvents::Reason, 48))
                    .col(json_binary(RoutingEvents::Path))
                    .col(timestamp_with_time_zone(RoutingEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RoutingEvents::Table, RoutingEvents::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        use RoutingEvents as R;
        util::index(
            manager,
            "routing_events_company_created_idx",
            R::Table,
            [R::CompanyId, R::CreatedAt],
            false,
        )
        .await?;
        util::index(
            manager,
            "routing_events_company_channel_idx",
            R::Table,
            [R::CompanyId, R::ChannelId, R::CreatedAt],
            false,
        )
        .await?;
        // One decision per Discord message, however often the gateway and catch-up see it.
        util::index(
            manager,
            "routing_events_discord_message_id_key",
            R::Table,
            [R::DiscordMessageId],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(pk_uuid(Events::Id))
                    .col(uuid(Events::CompanyId))
                    .col(big_integer(Events::Seq))
                    .col(uuid_null(Events::LeadId))
                    .col(string_len(Events::Kind, 32))
                    .col(json_binary(Events::Payload))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Events::Table, Events::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "events_company_seq_key",
            Events::Table,
            [Events::CompanyId, Events::Seq],
            true,
        )
        .await?;
        util::index(
            manager,
            "events_created_idx",
            Events::Table,
            [Events::CreatedAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RoutingEvents::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("discord_lead_channels"))
                    .drop_column(Alias::new("last_message_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Companies::Table)
                    .drop_column(Alias::new("event_seq"))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum RoutingEvents {
    Table,
    Id,
    CompanyId,
    EventType,
    Source,
    GuildId,
    ChannelId,
    DiscordMessageId,
    AuthorId,
    LeadId,
    Decision,
    Reason,
    Path,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    CompanyId,
    Seq,
    LeadId,
    Kind,
    Payload,
    CreatedAt,
}

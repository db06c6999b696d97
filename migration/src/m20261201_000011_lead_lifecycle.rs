//! Lead channels provisioned in the background, and leads that take their data with them:
//! - `channel_provisions`: one row per lead whose channel is being made (or failed), unique per
//!   lead, so creating twice stays one channel under any concurrency and across replicas;
//! - `jobs.queue`: jobs that must run one at a time per queue (channel creations per guild);
//! - messages belong to their lead: deleting the lead deletes them (a foreign key; SQLite
//!   cannot add one to an existing table, so the table is rebuilt there from its definition).
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    m20261124_000001_create_tenancy::Companies,
    m20261124_000003_create_leads::Leads,
    m20261124_000008_create_messages_and_jobs::{Jobs, Messages, messages_indexes, messages_table},
    util,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, on one connection: on SQLite (where migrations run outside a transaction
    /// by default) the rebuild's statements would otherwise go to different pooled connections.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(string_len_null(Alias::new("queue"), 64))
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "jobs_kind_state_queue_idx",
            Jobs::Table,
            [Alias::new("kind"), Alias::new("state"), Alias::new("queue")],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChannelProvisions::Table)
                    .col(pk_uuid(ChannelProvisions::Id))
                    .col(uuid(ChannelProvisions::CompanyId))
                    .col(uuid(ChannelProvisions::LeadId))
                    .col(string_len(ChannelProvisions::GuildId, 20))
                    .col(string_len(ChannelProvisions::State, 16))
                    .col(text_null(ChannelProvisions::LastError))
                    .col(uuid_null(ChannelProvisions::JobId))
                    .col(string_len(ChannelProvisions::RequestedBy, 128))
                    .col(timestamp_with_time_zone(ChannelProvisions::CreatedAt))
                    .col(timestamp_with_time_zone(ChannelProvisions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChannelProvisions::Table, ChannelProvisions::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChannelProvisions::Table, ChannelProvisions::LeadId)
                            .to(Leads::Table, Leads::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        util::index(
            manager,
            "channel_provisions_lead_id_key",
            ChannelProvisions::Table,
            [ChannelProvisions::LeadId],
            true,
        )
        .await?;

        // Messages of leads deleted before this step have no lead to belong to.
        let db = manager.get_connection();
        db.execute_unprepared("DELETE FROM messages WHERE lead_id NOT IN (SELECT id FROM leads)")
            .await?;
        let lead_key = ForeignKey::create()
            .name("messages_lead_id_fkey")
            .from(Messages::Table, Messages::LeadId)
            .to(Leads::Table, Leads::Id)
            .on_delete(ForeignKeyAction::Cascade)
            .to_owned();
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            let rebuilt = Alias::new("messages_rebuilt");
            let mut table = messages_table(rebuilt.clone());
            table.foreign_key(&mut lead_key.clone());
            manager.create_table(table).await?;
            db.execute_unprepared("INSERT INTO messages_rebuilt SELECT * FROM messages")
                .await?;
            db.execute_unprepared("DROP TABLE messages").await?;
            db.execute_unprepared("ALTER TABLE messages_rebuilt RENAME TO messages")
                .await?;
            messages_indexes(manager).await?;
        } else {
            manager.create_foreign_key(lead_key).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            manager
                .drop_foreign_key(
                    ForeignKey::drop()
                        .name("messages_lead_id_fkey")
                        .table(Messages::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ChannelProvisions::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("jobs_kind_state_queue_idx")
                    .table(Jobs::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .drop_column(Alias::new("queue"))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ChannelProvisions {
    Table,
    Id,
    CompanyId,
    LeadId,
    GuildId,
    State,
    LastError,
    JobId,
    RequestedBy,
    CreatedAt,
    UpdatedAt,
}

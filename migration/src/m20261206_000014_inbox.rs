//! The inbox's view of a conversation, kept on the lead so a list page is one query:
//! - `leads.last_activity_at`: the newest message's time (the lead's creation before any), which
//!   the inbox sorts by, newest first (indexed with the company and id for keyset paging);
//! - `leads.last_message_*`: the newest message's preview, direction and author's name;
//! - `leads.unread_count`: inbound messages since a teammate last read the conversation;
//! - `messages.author_name`: who wrote a message, as a person reads it (a teammate's email, an
//!   API key's name, a Discord member's name), kept as it was when the message was written.
//!
//! SQLite adds one column per statement and refuses a non-constant default, so
//! `last_activity_at` is added nullable and filled here; the service always writes it.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{m20261124_000003_create_leads::Leads, util};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            timestamp_with_time_zone_null(Inbox::LastActivityAt),
            text_null(Inbox::LastMessagePreview),
            string_len_null(Inbox::LastMessageDirection, 16),
            text_null(Inbox::LastMessageAuthor),
            timestamp_with_time_zone_null(Inbox::LastMessageAt),
            integer(Inbox::UnreadCount).default(0).to_owned(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Leads::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("messages"))
                    .add_column(text_null(Inbox::AuthorName))
                    .to_owned(),
            )
            .await?;

        // Existing conversations: their newest message, or the lead's creation.
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE leads SET \
               last_message_at = (SELECT MAX(m.created_at) FROM messages m WHERE m.lead_id = leads.id), \
               last_message_preview = (SELECT substr(m.content, 1, 140) FROM messages m \
                   WHERE m.lead_id = leads.id ORDER BY m.created_at DESC LIMIT 1), \
               last_message_direction = (SELECT m.direction FROM messages m \
                   WHERE m.lead_id = leads.id ORDER BY m.created_at DESC LIMIT 1)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE leads SET last_activity_at = COALESCE(last_message_at, created_at)",
        )
        .await?;

        util::index(
            manager,
            "leads_company_activity_idx",
            Leads::Table,
            [
                Leads::CompanyId.into_iden(),
                Inbox::LastActivityAt.into_iden(),
                Leads::Id.into_iden(),
            ],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("leads_company_activity_idx")
                    .table(Leads::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Inbox::LastActivityAt,
            Inbox::LastMessagePreview,
            Inbox::LastMessageDirection,
            Inbox::LastMessageAuthor,
            Inbox::LastMessageAt,
            Inbox::UnreadCount,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Leads::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("messages"))
                    .drop_column(Inbox::AuthorName)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Inbox {
    LastActivityAt,
    LastMessagePreview,
    LastMessageDirection,
    LastMessageAuthor,
    LastMessageAt,
    UnreadCount,
    AuthorName,
}

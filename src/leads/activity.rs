//! The inbox's summary of a conversation, kept on the lead as messages are stored: the newest
//! message (what the lead list previews and sorts by) and how many inbound messages nobody has
//! read yet. Called in the transaction that stores the message, for every message: sent from the
//! CRM, a note from Switchboard, or a reply from Discord.
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use crate::{
    entities::{
        lead,
        message::{self, Direction},
    },
    error::Result,
};

/// How much of the newest message the lead list shows.
pub const PREVIEW_CHARS: usize = 140;

/// The start of `content` on one line: runs of whitespace (new lines included) become one space.
pub fn preview(content: &str) -> String {
    let mut out = String::new();
    for word in content.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.chars().count() >= PREVIEW_CHARS {
            break;
        }
    }
    out.chars().take(PREVIEW_CHARS).collect()
}

/// Times are kept to the microsecond, which both databases store exactly, so a value read
/// back compares equal to the one written (the inbox's paging relies on it).
pub fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// `message` was stored: it becomes the lead's newest message unless a newer one is already
/// there (a reply caught up late, say), and an inbound one counts as unread. One statement,
/// on the hot path of every message.
pub async fn record(db: &impl ConnectionTrait, message: &message::Model) -> Result<()> {
    let unread = u32::from(message.direction == Direction::Inbound);
    summary(message, unread).exec(db).await?;
    Ok(())
}

/// The update of the lead's summary for `message`, adding `unread` to its unread count.
fn summary(message: &message::Model, unread: u32) -> sea_orm::UpdateMany<lead::Entity> {
    let at = stored_time(message.created_at);
    let newest = Condition::any()
        .add(lead::Column::LastMessageAt.is_null())
        .add(lead::Column::LastMessageAt.lte(at));
    // Each summary column takes the message's value when it is the newest, else keeps its own.
    let newest_or_kept = |column: lead::Column, value: Expr| {
        Expr::case(newest.clone(), value).finally(Expr::col(column))
    };
    lead::Entity::update_many()
        .col_expr(
            lead::Column::LastMessagePreview,
            newest_or_kept(
                lead::Column::LastMessagePreview,
                Expr::value(preview(&message.content)),
            )
            .into(),
        )
        .col_expr(
            lead::Column::LastMessageDirection,
            newest_or_kept(
                lead::Column::LastMessageDirection,
                Expr::value(message.direction),
            )
            .into(),
        )
        .col_expr(
            lead::Column::LastMessageAuthor,
            newest_or_kept(
                lead::Column::LastMessageAuthor,
                Expr::value(message.author_name.clone()),
            )
            .into(),
        )
        .col_expr(
            lead::Column::LastMessageAt,
            newest_or_kept(lead::Column::LastMessageAt, Expr::value(at)).into(),
        )
        .col_expr(
            lead::Column::LastActivityAt,
            newest_or_kept(lead::Column::LastActivityAt, Expr::value(at)).into(),
        )
        .col_expr(
            lead::Column::UnreadCount,
            Expr::col(lead::Column::UnreadCount).add(unread),
        )
        .filter(lead::Column::Id.eq(message.lead_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_is_one_line_and_bounded() {
        assert_eq!(preview("  hello\n\n  there\tfriend "), "hello there friend");
        let long = "word ".repeat(100);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), PREVIEW_CHARS);
        assert!(!cut.contains('\n'));
        assert_eq!(
            preview("é".repeat(300).as_str()).chars().count(),
            PREVIEW_CHARS
        );
    }

    #[test]
    fn stored_time_drops_nanoseconds() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("a time");
        assert_eq!(stored_time(at).timestamp_subsec_nanos(), 123_456_000);
    }
}

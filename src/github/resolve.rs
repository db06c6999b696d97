//! What a closed or reopened issue does to the conversations linked to it, whether a webhook or
//! polling saw it: the links follow GitHub's state; a lead whose last open link closed is
//! `resolved`, a resolved lead whose link reopened is `open` again; each lead whose link
//! changed gets a short status note in its Discord channel (through the outbox, so it survives
//! Discord being down), a `link.updated` event, and a `lead.updated` event when its status moved. Applying the same change
//! twice changes nothing the second time.
use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, sea_query::Expr,
};

use super::{links, payload::StateChange};
use crate::{
    change::Change,
    channels,
    entities::{
        lead::LeadStatus,
        lead_link::{self, LinkKind, LinkState},
    },
    error::Result,
    events::EventBody,
    ids::{CompanyId, LeadId},
    integrations::store,
    leads, messages,
};

/// How the change was learned, for the audit log.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    Webhook,
    Polling,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Polling => "polling",
        }
    }
}

/// What applying a change did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Links whose state changed.
    pub links: usize,
    /// Leads whose status changed.
    pub leads: usize,
    /// Status notes queued.
    pub notes: usize,
}

/// Applies `change` to the company's links to that issue, within `txn`.
pub async fn apply(
    txn: &mut Change<'_>,
    company_id: CompanyId,
    change: &StateChange,
    source: Source,
) -> Result<Applied> {
    let key = format!(
        "github:{}#{}",
        change.repository.to_lowercase(),
        change.number
    );
    let state = if change.closed {
        LinkState::Closed
    } else {
        LinkState::Open
    };
    let rows = links::find_for(company_id)
        .filter(lead_link::Column::Reference.eq(key.as_str()))
        .all(&*txn)
        .await?;
    let now = Utc::now();
    let title: String = change.title.chars().take(1000).collect();
    let kind = if change.is_pull_request {
        LinkKind::PullRequest
    } else {
        LinkKind::Issue
    };
    let mut changed: BTreeMap<LeadId, lead_link::Model> = BTreeMap::new();
    for link in rows {
        // Conditional on the state it moves from: of two deliveries of one change racing (a
        // webhook and a poll), one moves the link and the other finds nothing to do.
        let moved = lead_link::Entity::update_many()
            .col_expr(lead_link::Column::State, Expr::value(state))
            .col_expr(lead_link::Column::Merged, Expr::value(change.merged))
            .col_expr(lead_link::Column::Title, Expr::value(title.as_str()))
            .col_expr(lead_link::Column::Kind, Expr::value(kind))
            .col_expr(lead_link::Column::UpdatedAt, Expr::value(now))
            .filter(lead_link::Column::Id.eq(link.id))
            .filter(lead_link::Column::State.ne(state))
            .exec(&*txn)
            .await?
            .rows_affected;
        if moved == 1 {
            let mut updated = link.clone();
            updated.state = state;
            updated.merged = change.merged;
            updated.title = title.clone();
            updated.kind = kind;
            updated.updated_at = now;
            txn.event(
                company_id,
                Some(link.lead_id),
                EventBody::link_updated(updated),
            )
            .await?;
            changed.insert(link.lead_id, link);
        } else if link.title != title || link.merged != change.merged {
            // Same state, newer facts (a renamed issue): keep them, tell nobody.
            let mut active = link.into_active_model();
            active.title = Set(title.clone());
            active.merged = Set(change.merged);
            active.updated_at = Set(now);
            active.update(&*txn).await?;
        }
    }
    let mut applied = Applied {
        links: changed.len(),
        ..Applied::default()
    };
    for (lead_id, link) in changed {
        let lead = leads::get(&*txn, company_id, lead_id).await?;
        let still_open = links::find_for(company_id)
            .filter(lead_link::Column::LeadId.eq(lead_id))
            .filter(lead_link::Column::State.eq(LinkState::Open))
            .count(&*txn)
            .await?;
        let status = match (change.closed, lead.status, still_open) {
            (true, LeadStatus::Open, 0) => Some(LeadStatus::Resolved),
            (false, LeadStatus::Resolved, _) => Some(LeadStatus::Open),
            _ => None,
        };
        if let Some(status) = status {
            let mut active = lead.clone().into_active_model();
            active.status = Set(status);
            active.updated_at = Set(now);
            let updated = active.update(&*txn).await?;
            txn.event(company_id, Some(lead_id), EventBody::lead_updated(updated)?)
                .await?;
            txn.audit(
                company_id,
                "github",
                if change.closed {
                    "lead.resolved"
                } else {
                    "lead.reopened"
                },
                &format!("lead:{lead_id}"),
                serde_json::json!({ "ref": link.reference, "source": source.as_str() }),
            )
            .await?;
            applied.leads += 1;
        }
        let text = note(change, status, still_open);
        if post_note(txn, company_id, lead_id, &link, text).await? {
            applied.notes += 1;
        }
    }
    Ok(applied)
}

/// Queues the note in the lead's channel, when it has an active one in a connected server.
async fn post_note(
    txn: &mut Change<'_>,
    company_id: CompanyId,
    lead_id: LeadId,
    link: &lead_link::Model,
    text: String,
) -> Result<bool> {
    let Some(channel) = channels::get(&*txn, company_id, lead_id).await? else {
        return Ok(false);
    };
    let connected = store::connection_for(&*txn, company_id)
        .await?
        .is_some_and(|c| c.bot_invited && c.guild_id == channel.guild_id);
    if !channel.is_active || !connected {
        return Ok(false);
    }
    messages::enqueue_note(
        txn,
        &channel,
        text,
        "github",
        format!("github:{}", link.reference),
        "GitHub",
    )
    .await?;
    Ok(true)
}

/// The status note: `acme/widgets#12 *Widget breaks on save* was closed — marking this
/// conversation resolved`.
pub fn note(change: &StateChange, status: Option<LeadStatus>, still_open: u64) -> String {
    let what = format!(
        "{}#{} *{}*",
        change.repository,
        change.number,
        escape_markdown(&truncate(&change.title, 200))
    );
    let verb = match (change.closed, change.is_pull_request, change.merged) {
        (true, true, true) => "was merged",
        (true, true, false) => "was closed without merging",
        (true, false, _) => "was closed",
        (false, _, _) => "was reopened",
    };
    let outcome = match (status, change.closed) {
        (Some(LeadStatus::Resolved), _) => " — marking this conversation resolved".to_owned(),
        (Some(_), false) => " — reopening this conversation".to_owned(),
        (None, true) if still_open > 0 => format!(
            " — {still_open} linked {} still open",
            if still_open == 1 {
                "item is"
            } else {
                "items are"
            }
        ),
        _ => String::new(),
    };
    format!("{what} {verb}{outcome}")
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// Discord markdown in a title is shown as typed, not as formatting (and cannot close the
/// note's own italics).
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*'
                | '_'
                | '~'
                | '`'
                | '|'
                | '>'
                | '#'
                | '['
                | ']'
                | '('
                | ')'
                | '-'
                | '<'
                | '@'
                | ':'
        ) {
            out.push('\\');
        }
        // Line breaks would split the note.
        out.push(if c == '\n' || c == '\r' { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(closed: bool, pr: bool, merged: bool) -> StateChange {
        StateChange {
            repository: "acme/widgets".into(),
            number: 12,
            title: "Widget breaks on save".into(),
            is_pull_request: pr,
            closed,
            merged,
        }
    }

    #[test]
    fn a_closed_issue_that_resolves_says_so() {
        assert_eq!(
            note(&change(true, false, false), Some(LeadStatus::Resolved), 0),
            "acme/widgets#12 *Widget breaks on save* was closed — marking this conversation resolved"
        );
    }

    #[test]
    fn merged_and_unmerged_pull_requests_are_told_apart() {
        assert!(
            note(&change(true, true, true), Some(LeadStatus::Resolved), 0).contains("was merged")
        );
        assert!(
            note(&change(true, true, false), Some(LeadStatus::Resolved), 0)
                .contains("was closed without merging")
        );
    }

    #[test]
    fn a_close_with_links_still_open_counts_them() {
        assert!(
            note(&change(true, false, false), None, 1).ends_with("— 1 linked item is still open")
        );
        assert!(
            note(&change(true, false, false), None, 2).ends_with("— 2 linked items are still open")
        );
    }

    #[test]
    fn a_reopen_reopens() {
        assert!(
            note(&change(false, false, false), Some(LeadStatus::Open), 0)
                .ends_with("was reopened — reopening this conversation")
        );
    }

    #[test]
    fn markdown_and_mentions_in_titles_are_shown_as_typed() {
        let mut c = change(true, false, false);
        c.title = "*bold* @everyone\nnext".into();
        let text = note(&c, None, 0);
        assert!(text.contains(r"*\*bold\* \@everyone next*"), "{text}");
    }

    #[test]
    fn long_titles_are_cut() {
        let mut c = change(true, false, false);
        c.title = "x".repeat(500);
        assert!(note(&c, None, 0).chars().count() < 300);
    }
}

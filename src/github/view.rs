//! Links, hooks and sync runs as the API shows them.
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    entities::{
        github_hook::{self, HookState},
        lead_link::{self, LinkKind, LinkState},
        sync_log,
    },
    ids::LeadId,
};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    id: Uuid,
    #[schema(value_type = Uuid)]
    lead_id: LeadId,
    /// `github:owner/repo#123` (owner and repository in lowercase).
    #[schema(example = "github:acme/widgets#12")]
    r#ref: String,
    /// `owner/repo` as GitHub spells it.
    repository: String,
    number: i32,
    kind: LinkKind,
    title: String,
    state: LinkState,
    /// A closed pull request that was merged.
    merged: bool,
    /// The or pull request's page on GitHub.
    url: String,
    /// When GitHub was last asked about it.
    checked_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<lead_link::Model> for LinkView {
    fn from(l: lead_link::Model) -> Self {
        Self {
            id: l.id,
            lead_id: l.lead_id,
            r#ref: l.reference,
            repository: l.repository,
            number: l.number,
            kind: l.kind,
            title: l.title,
            state: l.state,
            merged: l.merged,
            url: l.url,
            checked_at: l.checked_at,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookView {
    /// `owner/repo`, lowercase.
    repository: String,
    state: HookState,
    /// GitHub's id of the hook, once registered.
    hook_id: Option<i64>,
    /// Why GitHub refused it (set the hook up by hand then; polling covers the repository).
    last_error: Option<String>,
    updated_at: DateTime<Utc>,
}

impl From<github_hook::Model> for HookView {
    fn from(h: github_hook::Model) -> Self {
        Self {
            repository: h.repository,
            state: h.state,
            hook_id: h.hook_id,
            last_error: h.last_error,
            updated_at: h.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncLogView {
    id: Uuid,
    /// `github_links`, `lead_channels`, `messages`, …
    resource_type: String,
    /// `full` or `incremental`.
    sync_type: String,
    started_at: DateTime<Utc>,
    /// `null` while the run is going (or if it died).
    completed_at: Option<DateTime<Utc>>,
    synced_until: Option<DateTime<Utc>>,
    records_synced: i32,
    records_created: i32,
    records_updated: i32,
    records_failed: i32,
    #[schema(value_type = Vec<Object>)]
    errors: serde_json::Value,
    #[schema(value_type = Object)]
    metadata: serde_json::Value,
}

impl From<sync_log::Model> for SyncLogView {
    fn from(s: sync_log::Model) -> Self {
        Self {
            id: s.id,
            resource_type: s.resource_type,
            sync_type: s.sync_type,
            started_at: s.started_at,
            completed_at: s.completed_at,
            synced_until: s.synced_until,
            records_synced: s.records_synced,
            records_created: s.records_created,
            records_updated: s.records_updated,
            records_failed: s.records_failed,
            errors: s.errors,
            metadata: s.metadata,
        }
    }
}

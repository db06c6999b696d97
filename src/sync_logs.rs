//! `sync_logs`: one row per run of a sync (a DM-lead migration, a catch-up), opened when it
//! starts and completed with its counts.
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel};
use uuid::Uuid;

use crate::ids::CompanyId;
use crate::{entities::sync_log, error::Result};

/// Counts of a finished run.
#[derive(Debug, Default)]
pub struct Counts {
    pub synced: usize,
    pub created: usize,
    pub failed: usize,
}

/// Opens a run's row.
pub async fn start(
    db: &impl ConnectionTrait,
    company_id: Option<CompanyId>,
    resource_type: &str,
    sync_type: &str,
    metadata: serde_json::Value,
) -> Result<sync_log::Model> {
    let row = sync_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(company_id),
        resource_type: Set(resource_type.to_owned()),
        sync_type: Set(sync_type.to_owned()),
        started_at: Set(Utc::now()),
        completed_at: Set(None),
        synced_until: Set(None),
        records_synced: Set(0),
        records_created: Set(0),
        records_updated: Set(0),
        records_failed: Set(0),
        errors: Set(serde_json::json!([])),
        metadata: Set(metadata),
    };
    Ok(sync_log::Entity::insert(row)
        .exec_with_returning(db)
        .await?)
}

/// Completes a run's row: synced up to `until`, with its counts and errors.
pub async fn finish(
    db: &impl ConnectionTrait,
    log: sync_log::Model,
    until: DateTime<Utc>,
    counts: &Counts,
    errors: Vec<serde_json::Value>,
) -> Result<()> {
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let mut log = log.into_active_model();
    log.completed_at = Set(Some(Utc::now()));
    log.synced_until = Set(Some(until));
    log.records_synced = Set(count(counts.synced));
    log.records_created = Set(count(counts.created));
    log.records_failed = Set(count(counts.failed));
    log.errors = Set(serde_json::Value::Array(errors));
    log.update(db).await?;
    Ok(())
}

//! `sync_logs`: one row per run of a sync (a DM-lead migration, a catch-up, GitHub polling),
//! opened when it starts and completed with its counts.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::ids::CompanyId;
use crate::{
    entities::sync_log,
    error::Result,
    pagination::{Cursor, Page},
};

/// Counts of a finished run.
#[derive(Debug, Default)]
pub struct Counts {
    pub synced: usize,
    pub created: usize,
    pub updated: usize,
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
    log.records_updated = Set(count(counts.updated));
    log.records_failed = Set(count(counts.failed));
    log.errors = Set(serde_json::Value::Array(errors));
    log.update(db).await?;
    Ok(())
}

/// The company's runs, newest first, optionally of one resource.
pub async fn list(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    resource_type: Option<&str>,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<Page<sync_log::Model>> {
    let mut query = sync_log::Entity::find().filter(sync_log::Column::CompanyId.eq(company_id));
    if let Some(resource_type) = resource_type {
        query = query.filter(sync_log::Column::ResourceType.eq(resource_type));
    }
    if let Some(cursor) = cursor {
        query = query.filter(sync_log::Column::Id.lt(cursor.0));
    }
    let rows = query
        .order_by_desc(sync_log::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    Ok(Page::from_rows(rows, limit, |s| s.id))
}

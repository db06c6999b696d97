//! Who did what, per company: connects, disconnects, archives, role changes.
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::ids::CompanyId;
use crate::{
    entities::audit_entry::{self, Entity as AuditLog},
    error::Result,
    pagination::{Cursor, Page},
};

pub async fn record(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let entry = audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(company_id),
        actor: Set(actor.chars().take(64).collect()),
        action: Set(action.to_owned()),
        target: Set(target.chars().take(200).collect()),
        detail: Set(detail),
        at: Set(Utc::now()),
    };
    AuditLog::insert(entry).exec_without_returning(db).await?;
    tracing::info!(company.id = %company_id, actor, action, target, "audit");
    Ok(())
}

/// Newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    action: Option<&str>,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<Page<audit_entry::Model>> {
    let mut query = AuditLog::find().filter(audit_entry::Column::CompanyId.eq(company_id));
    if let Some(action) = action {
        query = query.filter(audit_entry::Column::Action.eq(action));
    }
    if let Some(cursor) = cursor {
        query = query.filter(audit_entry::Column::Id.lt(cursor.0));
    }
    let rows = query
        .order_by_desc(audit_entry::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    Ok(Page::from_rows(rows, limit, |e| e.id))
}

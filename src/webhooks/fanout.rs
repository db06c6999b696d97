//! Which endpoints get an event: one delivery job per (event, endpoint), written in the
//! transaction that records the event, so a change that commits has its deliveries queued and
//! nothing is lost if the process dies right after.
//!
//! A leaf on purpose: `events` calls it while recording, and it needs nothing of `events`.
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    entities::{
        job::{self, JobKind, JobState},
        webhook_endpoint,
    },
    error::Result,
    ids::CompanyId,
};

/// Whether an endpoint with this filter (`None`: every type) takes events of `kind`.
pub fn wants(event_types: Option<&serde_json::Value>, kind: &str) -> bool {
    match event_types.and_then(|v| v.as_array()) {
        None => true,
        Some(types) => types.iter().any(|t| t.as_str() == Some(kind)),
    }
}

/// Queues the delivery of each event (`(event id, type)`) to every enabled endpoint of the
/// company that wants its type.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    company_id: CompanyId,
    events: &[(Uuid, String)],
) -> Result<usize> {
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::CompanyId.eq(company_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(txn)
        .await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let jobs: Vec<job::ActiveModel> = events
        .iter()
        .flat_map(|(event_id, kind)| {
            endpoints
                .iter()
                .filter(|e| wants(e.event_types.as_ref(), kind))
                .map(move |endpoint| job::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    company_id: Set(Some(company_id)),
                    kind: Set(JobKind::DeliverWebhook),
                    payload: Set(serde_json::json!({
                        "endpointId": endpoint.id,
                        "eventId": event_id,
                    })),
                    state: Set(JobState::Pending),
                    attempts: Set(0),
                    run_at: Set(now),
                    locked_until: Set(None),
                    last_error: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    queue: Set(None),
                })
        })
        .collect();
    let count = jobs.len();
    if count > 0 {
        job::Entity::insert_many(jobs)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_without_a_filter_wants_everything_and_one_with_a_filter_only_its_types() {
        assert!(wants(None, "lead.updated"));
        let filter = serde_json::json!(["message.created"]);
        assert!(wants(Some(&filter), "message.created"));
        assert!(!wants(Some(&filter), "lead.updated"));
    }
}

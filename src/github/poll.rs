//! The polling fallback: a company whose webhook has not delivered within the poll interval has
//! its links read from GitHub every `GITHUB_POLL_INTERVAL`, conditionally (`If-None-Match`, so
//! an unchanged issue costs a 304), stopping when GitHub's rate limit says to. A change seen
//! this way is applied exactly as the webhook would apply it (and only once: the links' state
//! is the memory). Each run is a `sync_logs` row.
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};

use super::{
    client::{ApiError, Fetched},
    hooks, links,
    payload::StateChange,
    resolve::{self, Source},
};
use crate::{
    entities::{integration, lead_link, sync_log, webhook_delivery},
    error::{Error, Result},
    integrations::{IntegrationStatus, flow, store},
    services::Services,
    sync_logs::{self, Counts},
};

pub const RESOURCE: &str = "github_links";
/// Deliveries are remembered this long: GitHub lets a delivery be redelivered for three days.
const DELIVERY_RETENTION: chrono::Duration = chrono::Duration::days(7);

/// Polls every company that is due, then sleeps a minute; until the process stops.
pub async fn worker(app: Services) {
    loop {
        if let Err(err) = run_due(&app).await {
            tracing::warn!(error = ?err, "GitHub polling failed");
        }
        tokio::time::sleep(tick(app.settings.github_poll_interval)).await;
    }
}

/// How often the worker looks for due companies: often enough to keep each one's interval.
fn tick(interval: Duration) -> Duration {
    (interval / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Polls each active GitHub integration whose webhook has been quiet for the poll interval and
/// whose last poll is that old; one replica per company per interval (a state-store lease).
pub async fn run_due(app: &Services) -> Result<usize> {
    let interval = app.settings.github_poll_interval;
    let quiet_since = Utc::now() - chrono::Duration::from_std(interval).unwrap_or_default();
    let rows = integration::Entity::find()
        .filter(integration::Column::Provider.eq("github"))
        .filter(integration::Column::Status.eq(IntegrationStatus::Active))
        .all(&app.db)
        .await?;
    let mut polled = 0;
    for row in rows {
        if row.last_webhook_at.is_some_and(|at| at > quiet_since) {
            continue;
        }
        let lease = format!("github_poll:{}", row.id);
        if !app.state.put_if_absent(&lease, b"1", interval).await? {
            continue;
        }
        poll(app, row).await?;
        polled += 1;
    }
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::ReceivedAt.lt(Utc::now() - DELIVERY_RETENTION))
        .exec(&app.db)
        .await?;
    Ok(polled)
}

/// Reads each linked issue of the integration's company from GitHub once, and applies what
/// changed. Answers the run's `sync_logs` row.
pub async fn poll(app: &Services, row: integration::Model) -> Result<sync_log::Model> {
    let company_id = row.company_id;
    let log = sync_logs::start(
        &app.db,
        Some(company_id),
        RESOURCE,
        "incremental",
        serde_json::json!({ "integrationId": row.id }),
    )
    .await?;
    let started = Utc::now();
    let mut counts = Counts::default();
    let mut errors = Vec::new();
    let row = flow::fresh(app, row).await?;
    let token = store::token(&app.cipher, &row, store::ACCESS_TOKEN)?;
    // One read per issue, however many leads link it.
    let mut by_reference: BTreeMap<String, Vec<lead_link::Model>> = BTreeMap::new();
    for link in links::find_for(company_id).all(&app.db).await? {
        by_reference
            .entry(link.reference.clone())
            .or_default()
            .push(link);
    }
    if let Some(token) = token {
        for (reference, group) in &by_reference {
            let first = &group[0];
            let Some((owner, repo)) = first.repository.split_once('/') else {
                continue;
            };
            let number = u32::try_from(first.number).unwrap_or_default();
            let etag = group.iter().find_map(|l| l.etag.as_deref());
            match app.github.issue(&token, owner, repo, number, etag).await {
                Ok(Fetched::NotModified) => {
                    counts.synced += 1;
                    touch(app, group, None).await?;
                }
                Ok(Fetched::Issue { issue, etag }) => {
                    counts.synced += 1;
                    let state_change = StateChange {
                        repository: first.repository.clone(),
                        number,
                        title: issue.title.clone(),
                        is_pull_request: issue.is_pull_request(),
                        closed: issue.closed(),
                        merged: issue.merged(),
                    };
                    let mut change = app.begin().await?;
                    let applied =
                        resolve::apply(&mut change, company_id, &state_change, Source::Polling)
                            .await?;
                    change.commit().await?;
                    counts.updated += applied.links;
                    touch(app, group, Some(etag)).await?;
                }
                Err(err @ (ApiError::RateLimited(_) | ApiError::TokenRefused)) => {
                    // Nothing more can be read now: stop, and say why.
                    counts.failed += 1;
                    errors.push(serde_json::json!({ "ref": reference, "error": err.to_string() }));
                    if matches!(err, ApiError::TokenRefused) {
                        store::mark_error(
                            &app.db,
                            row.clone(),
                            "GitHub refused the token (401); reconnect GitHub",
                        )
                        .await?;
                    }
                    break;
                }
                Err(err) => {
                    counts.failed += 1;
                    errors.push(serde_json::json!({ "ref": reference, "error": err.to_string() }));
                }
            }
        }
    } else {
        errors.push(serde_json::json!({ "error": "no GitHub token is stored; reconnect GitHub" }));
    }
    sync_logs::finish(&app.db, log.clone(), started, &counts, errors).await?;
    hooks::remove_unused(app, &row).await;
    hooks::ensure_missing(
        app,
        &row,
        by_reference
            .values()
            .map(|group| group[0].repository.as_str()),
    )
    .await;
    let log = sync_log::Entity::find_by_id(log.id)
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("sync log {} vanished", log.id)))?;
    tracing::info!(
        company.id = %company_id,
        synced = log.records_synced,
        updated = log.records_updated,
        failed = log.records_failed,
        "GitHub links polled"
    );
    Ok(log)
}

/// Records when the links were checked, and GitHub's new `ETag` when it sent one.
async fn touch(
    app: &Services,
    group: &[lead_link::Model],
    etag: Option<Option<String>>,
) -> Result<()> {
    let now = Utc::now();
    for link in group {
        let mut active = link.clone().into_active_model();
        active.checked_at = Set(Some(now));
        if let Some(etag) = &etag {
            active.etag = Set(etag.clone());
        }
        // The link may have been deleted meanwhile: nothing to record then.
        if let Err(err) = active.update(&app.db).await
            && !matches!(err, sea_orm::DbErr::RecordNotUpdated)
        {
            return Err(err.into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_looks_often_enough_for_its_interval() {
        assert_eq!(tick(Duration::from_secs(900)), Duration::from_secs(60));
        assert_eq!(tick(Duration::from_secs(60)), Duration::from_secs(15));
        assert_eq!(tick(Duration::from_secs(2)), Duration::from_secs(1));
    }
}

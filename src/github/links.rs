//! Links between a lead's conversation and GitHub issues or pull requests. A link is read from
//! GitHub when it is made (kind, title, state and address come from GitHub, not the user), and
//! the repository's webhook is registered then if the token allows.
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use super::{
    client::{ApiError, Fetched},
    hooks,
    reference::IssueRef,
};
use crate::{
    entities::{
        integration,
        lead_link::{self, Entity as Links, LinkKind, LinkState},
    },
    error::{Error, ErrorKind, Result, is_unique_violation},
    ids::{CompanyId, LeadId},
    integrations::{IntegrationStatus, flow, store},
    leads,
    pagination::{Cursor, Page},
    services::Services,
    tenancy::Principal,
};

/// The company's links. The only way into the table for tenant-facing code.
pub fn find_for(company_id: CompanyId) -> Select<Links> {
    Links::find().filter(lead_link::Column::CompanyId.eq(company_id))
}

/// The company's GitHub integration when it is connected, or 409 `github_not_connected`.
pub async fn integration(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
) -> Result<integration::Model> {
    store::get(db, company_id, "github")
        .await?
        .filter(|row| row.status != IntegrationStatus::Revoked)
        .ok_or_else(|| {
            Error::conflict(
                "github_not_connected",
                "Connect GitHub first (POST /api/integrations/github/authorize).",
            )
        })
}

/// An API failure as the caller of a request should see it; a refused token also marks the
/// integration (its health shows it).
pub async fn api_error(
    app: &Services,
    row: &integration::Model,
    reference: &IssueRef,
    err: ApiError,
) -> Error {
    match err {
        ApiError::NotFound(_) => Error::invalid(
            "ref",
            format!(
                "GitHub has no issue or pull request {} that the connected account can see",
                reference.display()
            ),
        )
        .with_code("github_ref_not_found"),
        ApiError::Moved => Error::invalid(
            "ref",
            format!(
                "{} was transferred to another repository; link it at its new address",
                reference.display()
            ),
        )
        .with_code("github_ref_moved"),
        ApiError::Forbidden(message) => Error::invalid(
            "ref",
            format!(
                "GitHub refused access to {}: {message}",
                reference.display()
            ),
        )
        .with_code("github_ref_forbidden"),
        ApiError::TokenRefused => {
            let reason = "GitHub refused the token (401); reconnect GitHub";
            if let Err(mark) = store::mark_error(&app.db, row.clone(), reason).await {
                tracing::warn!(error = %mark, "could not record the refused GitHub token");
            }
            Error::conflict(
                "github_token_refused",
                "GitHub refused the connected account's token; reconnect GitHub.",
            )
        }
        ApiError::RateLimited(wait) => Error::unavailable(
            "github_rate_limited",
            "GitHub's rate limit for the connected account is used up; retry later.",
        )
        .with_retry_after(wait.as_secs().max(1)),
        ApiError::Unprocessable(_) | ApiError::Unavailable(_) => Error::unavailable(
            "github_unavailable",
            "GitHub did not answer as expected; retry later.",
        )
        .with_source(anyhow::anyhow!("{err}"))
        .with_retry_after(5),
    }
}

/// Links `reference` to the lead: `(link, true)` when made now, `(link, false)` when the lead
/// already had it.
pub async fn create(
    app: &Services,
    principal: &Principal,
    lead_id: LeadId,
    reference: IssueRef,
) -> Result<(lead_link::Model, bool)> {
    let company_id = principal.company_id;
    let lead = leads::get(&app.db, company_id, lead_id).await?;
    let row = integration(&app.db, company_id).await?;
    let key = reference.key();
    if let Some(existing) = find_for(company_id)
        .filter(lead_link::Column::LeadId.eq(lead.id))
        .filter(lead_link::Column::Reference.eq(key.as_str()))
        .one(&app.db)
        .await?
    {
        return Ok((existing, false));
    }
    let row = flow::fresh(app, row).await?;
    let token = store::token(&app.cipher, &row, store::ACCESS_TOKEN)?.ok_or_else(|| {
        Error::conflict(
            "github_not_connected",
            "Reconnect GitHub: no token is stored.",
        )
    })?;
    let fetched = app
        .github
        .issue(
            &token,
            &reference.owner,
            &reference.repo,
            reference.number,
            None,
        )
        .await;
    let (issue, etag) = match fetched {
        Ok(Fetched::Issue { issue, etag }) => (issue, etag),
        // Not asked conditionally, so GitHub does not answer 304.
        Ok(Fetched::NotModified) => {
            return Err(Error::unavailable(
                "github_unavailable",
                "GitHub did not answer as expected; retry later.",
            ));
        }
        Err(err) => return Err(api_error(app, &row, &reference, err).await),
    };
    let repository = repository_of(&issue.html_url, &reference);
    let now = Utc::now();
    let link = lead_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(company_id),
        lead_id: Set(lead.id),
        reference: Set(key.clone()),
        repository: Set(repository.clone()),
        number: Set(i32::try_from(issue.number).unwrap_or(i32::MAX)),
        kind: Set(if issue.is_pull_request() {
            LinkKind::PullRequest
        } else {
            LinkKind::Issue
        }),
        title: Set(issue.title.chars().take(1000).collect()),
        state: Set(if issue.closed() {
            LinkState::Closed
        } else {
            LinkState::Open
        }),
        merged: Set(issue.merged()),
        url: Set(issue.html_url.clone()),
        etag: Set(etag),
        created_by: Set(principal.actor()),
        checked_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let change = app.begin().await?;
    let inserted = Links::insert(link).exec_with_returning(&change).await;
    let link = match inserted {
        Ok(link) => link,
        // The same link made by a concurrent request: answer that one.
        Err(err) if is_unique_violation(&err) => {
            drop(change);
            let existing = find_for(company_id)
                .filter(lead_link::Column::LeadId.eq(lead.id))
                .filter(lead_link::Column::Reference.eq(key.as_str()))
                .one(&app.db)
                .await?
                .ok_or_else(|| Error::internal(err))?;
            return Ok((existing, false));
        }
        Err(err) => return Err(err.into()),
    };
    change
        .audit(
            company_id,
            &principal.actor(),
            "lead.link_created",
            &format!("lead:{}", lead.id),
            serde_json::json!({ "ref": key }),
        )
        .await?;
    change.commit().await?;
    tracing::info!(lead.id = %lead.id, link.id = %link.id, github.ref = %key, "issue linked");
    // Best effort: without a hook, polling keeps the link current.
    hooks::ensure(app, &row, &repository).await;
    Ok((link, true))
}

/// `owner/repo` as GitHub spells it, from the issue's address (`…/owner/repo/issues/1`); the
/// typed reference when the address has another shape.
fn repository_of(html_url: &str, reference: &IssueRef) -> String {
    let mut parts = html_url.rsplit('/');
    let (_number, _kind, repo, owner) = (parts.next(), parts.next(), parts.next(), parts.next());
    match (owner, repo) {
        (Some(owner), Some(repo))
            if format!("{owner}/{repo}").to_lowercase() == reference.repository_key() =>
        {
            format!("{owner}/{repo}")
        }
        _ => format!("{}/{}", reference.owner, reference.repo),
    }
}

/// A lead's links, oldest first.
pub async fn list_for_lead(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    lead_id: LeadId,
) -> Result<Vec<lead_link::Model>> {
    leads::get(db, company_id, lead_id).await?;
    Ok(find_for(company_id)
        .filter(lead_link::Column::LeadId.eq(lead_id))
        .order_by_asc(lead_link::Column::Id)
        .all(db)
        .await?)
}

/// The company's links, newest first, optionally only open or closed ones.
pub async fn list(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    state: Option<LinkState>,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<Page<lead_link::Model>> {
    let mut query = find_for(company_id);
    if let Some(state) = state {
        query = query.filter(lead_link::Column::State.eq(state));
    }
    if let Some(cursor) = cursor {
        query = query.filter(lead_link::Column::Id.lt(cursor.0));
    }
    let rows = query
        .order_by_desc(lead_link::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    Ok(Page::from_rows(rows, limit, |l| l.id))
}

/// Removes one of the lead's links; the repository's hook goes with its last link.
pub async fn delete(
    app: &Services,
    principal: &Principal,
    lead_id: LeadId,
    link_id: Uuid,
) -> Result<()> {
    let company_id = principal.company_id;
    leads::get(&app.db, company_id, lead_id).await?;
    let change = app.begin().await?;
    let link = find_for(company_id)
        .filter(lead_link::Column::LeadId.eq(lead_id))
        .filter(lead_link::Column::Id.eq(link_id))
        .one(&change)
        .await?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "link_not_found", "No such link."))?;
    Links::delete_by_id(link.id).exec(&change).await?;
    change
        .audit(
            company_id,
            &principal.actor(),
            "lead.link_deleted",
            &format!("lead:{lead_id}"),
            serde_json::json!({ "ref": link.reference }),
        )
        .await?;
    change.commit().await?;
    if let Ok(row) = integration(&app.db, company_id).await {
        hooks::remove_unused(app, &row).await;
    }
    Ok(())
}
